/**
 * The settings service over a real LanceDB table: resolution default → server → channel →
 * thread with sources, writes visible at once and after reopening, per-server bounds, and stored
 * rows that are no longer valid skipped with a warning instead of stopping the bot.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { settingRefusal } from '../../src/settings/describe.js';
import { Settings, type SettingScope } from '../../src/settings/service.js';
import { capturingLogger, IDS, LIMITS, useSettingsTable } from './helpers.js';

const newTable = useSettingsTable();

const server: SettingScope = { guildId: IDS.guild, kind: 'guild', id: IDS.guild };
const general: SettingScope = { guildId: IDS.guild, kind: 'channel', id: IDS.general };
const thread: SettingScope = { guildId: IDS.guild, kind: 'thread', id: IDS.thread };
const inThread = { guildId: IDS.guild, channelId: IDS.general, threadId: IDS.thread };
const inGeneral = { guildId: IDS.guild, channelId: IDS.general };
const inRandom = { guildId: IDS.guild, channelId: IDS.random };

async function open(options: Partial<Parameters<typeof Settings.open>[1]> = {}) {
  const { table, reopen } = await newTable();
  const settings = await Settings.open(table, { limits: LIMITS, log: silentLogger(), ...options });
  return { settings, table, reopen };
}

describe('settings per server, channel and thread', () => {
  it('resolve the most specific value set, saying where it comes from', async () => {
    const { settings } = await open({ now: () => 1_700_000_000_000 });
    expect(settings.resolve(inThread).max_steps).toEqual({ key: 'max_steps', value: 20, source: 'default', updatedBy: null, updatedAt: null });

    expect(await settings.set(server, 'max_steps', '15', IDS.admin)).toEqual({ ok: true, key: 'max_steps', value: 15, previous: undefined });
    expect(settings.resolve(inThread).max_steps).toMatchObject({ value: 15, source: 'server', updatedBy: IDS.admin, updatedAt: 1_700_000_000_000 });
    await settings.set(general, 'max_steps', '10', IDS.admin);
    await settings.set(thread, 'max_steps', '5', IDS.admin);

    expect(settings.resolve(inThread).max_steps).toMatchObject({ value: 5, source: 'thread' });
    expect(settings.resolve(inGeneral).max_steps).toMatchObject({ value: 10, source: 'channel' });
    expect(settings.resolve({ ...inGeneral, threadId: '100000000000000099' }).max_steps).toMatchObject({ value: 10, source: 'channel' });
    expect(settings.resolve(inRandom).max_steps).toMatchObject({ value: 15, source: 'server' });
    // Another server and DMs see none of it.
    expect(settings.resolve({ guildId: IDS.otherGuild, channelId: IDS.otherChannel }).max_steps.source).toBe('default');
    expect(settings.resolve({ guildId: null, channelId: IDS.general, threadId: IDS.thread }).max_steps).toMatchObject({ value: 20, source: 'default' });
    // Other keys keep their defaults, from the process's limits.
    expect(settings.resolve(inThread).model).toMatchObject({ value: 'gpt-4o-mini', source: 'default' });
    expect(settings.resolve(inThread).approval_risk.value).toBe('high');

    // A reset falls back to the next level up.
    expect(await settings.reset(thread, 'max_steps')).toEqual({ key: 'max_steps', previous: 5 });
    expect(settings.resolve(inThread).max_steps).toMatchObject({ value: 10, source: 'channel' });
    expect(await settings.reset(thread, 'max_steps')).toEqual({ key: 'max_steps', previous: undefined });
    await settings.reset(general, 'max_steps');
    await settings.reset(server, 'max_steps');
    expect(settings.resolve(inThread).max_steps.source).toBe('default');
  });

  it('replace a value at the same scope, and keep values across a reopen', async () => {
    const { settings, reopen } = await open();
    await settings.set(server, 'instructions', 'Answer in French.', IDS.admin);
    expect(await settings.set(server, 'instructions', 'Answer in Norwegian.', IDS.admin)).toMatchObject({ ok: true, previous: 'Answer in French.' });
    await settings.set(general, 'disabled_tools', 'run_code, http_get', IDS.admin);
    await settings.set(general, 'mentions', 'off', IDS.admin);
    await settings.set(server, 'server_daily_budget_usd', 'none', IDS.admin);

    const again = await Settings.open(await reopen(), { limits: LIMITS, log: silentLogger() });
    const here = again.resolve(inGeneral);
    expect(here.instructions).toMatchObject({ value: 'Answer in Norwegian.', source: 'server' });
    expect(here.disabled_tools).toMatchObject({ value: ['run_code', 'http_get'], source: 'channel' });
    expect(here.mentions).toMatchObject({ value: false, source: 'channel' });
    expect(here.server_daily_budget_usd).toMatchObject({ value: null, source: 'server' });
    expect(again.storedAt(general, 'mentions')?.value).toBe(false);
    expect(again.storedAt(server, 'mentions')).toBeUndefined();
    // What a setting stops says which setting, where its value comes from and who can change it.
    expect(settingRefusal('Cairn does not answer mentions in this channel', here.mentions)).toBe(
      'Cairn does not answer mentions in this channel (`mentions` is `off`, set for this channel); people with the Manage Server permission or one of the admin roles (CAIRN_ADMIN_ROLES) can change it with `/config set key:mentions`.',
    );
    expect(settingRefusal('This server’s daily budget is spent', again.resolve({ guildId: IDS.otherGuild, channelId: null }).server_daily_budget_usd)).toMatch(
      /^This server’s daily budget is spent \(`server_daily_budget_usd` is `unlimited`, the default from CAIRN_SERVER_DAILY_BUDGET_USD\); /,
    );
  });

  it('refuse values past the operator’s limits and keys at scopes they do not belong to, writing nothing', async () => {
    const { settings, table } = await open();
    expect(await settings.set(server, 'user_daily_budget_usd', '10', IDS.admin)).toEqual({
      ok: false,
      key: 'user_daily_budget_usd',
      refusal: '`user_daily_budget_usd` must be at most $5.00: the limit whoever runs Cairn set (CAIRN_DAILY_BUDGET_USD); a server may lower it, never raise it.',
    });
    expect(await settings.set(general, 'user_daily_budget_usd', '1', IDS.admin)).toMatchObject({
      ok: false,
      refusal: '`user_daily_budget_usd` can be set for a server only, not for a channel.',
    });
    expect(await settings.set(thread, 'threads', 'on', IDS.admin)).toMatchObject({ ok: false, refusal: '`threads` can be set for a server or a channel only, not for a thread.' });
    expect(await settings.set(server, 'model', 'gpt-5', IDS.admin)).toMatchObject({ ok: false, refusal: expect.stringMatching(/^`model` "gpt-5" is not on the allow-list/) as unknown });
    expect(await table.countRows()).toBe(0);
  });

  it('bound the rows one server may store', async () => {
    const { settings } = await open({ maxRowsPerGuild: 2 });
    await settings.set(server, 'mode', 'plan', IDS.admin);
    await settings.set(general, 'mode', 'reflexion', IDS.admin);
    expect(await settings.set(thread, 'mode', 'react', IDS.admin)).toMatchObject({ ok: false, refusal: expect.stringMatching(/^`mode` was not saved: this server already has 2 settings stored/) as unknown });
    // Changing a stored value is not a new row; another server has its own allowance; a reset frees one.
    expect(await settings.set(general, 'mode', 'react', IDS.admin)).toMatchObject({ ok: true });
    expect(await settings.set({ guildId: IDS.otherGuild, kind: 'guild', id: IDS.otherGuild }, 'mode', 'plan', IDS.admin)).toMatchObject({ ok: true });
    await settings.reset(server, 'mode');
    expect(await settings.set(thread, 'mode', 'plan', IDS.admin)).toMatchObject({ ok: true });
  });

  it('skip stored rows that are no longer valid, with a warning naming each, and use the rest', async () => {
    const { table, reopen } = await newTable();
    const row = (scopeKind: string, scopeId: string, key: string, value: string, extra: Record<string, unknown> = {}) => ({
      id: `${scopeKind}:${scopeId}:${key}`,
      guild_id: IDS.guild,
      scope_kind: scopeKind,
      scope_id: scopeId,
      key,
      value,
      updated_by: IDS.admin,
      updated_at: 1,
      ...extra,
    });
    await table.add([
      row('guild', IDS.guild, 'mode', '"plan"'),
      row('channel', IDS.general, 'max_steps', '50'),
      row('guild', IDS.guild, 'model', '"gpt-5"'),
      row('guild', IDS.guild, 'colour', '"blue"'),
      row('guild', IDS.guild, 'threads', '{not json'),
      row('channel', IDS.general, 'user_daily_budget_usd', '1'),
      row('thread', IDS.thread, 'mentions', 'false', { id: 'forged' }),
      row('sideways', IDS.general, 'mode', '"react"'),
    ]);
    const { log, lines } = capturingLogger();
    const settings = await Settings.open(await reopen(), { limits: LIMITS, log });
    expect(settings.resolve(inThread).mode).toMatchObject({ value: 'plan', source: 'server' });
    expect(settings.resolve(inThread).max_steps).toMatchObject({ value: 20, source: 'default' });
    expect(settings.resolve(inThread).model.source).toBe('default');
    expect(settings.resolve(inThread).mentions.source).toBe('default');
    const warned = lines.map((l) => l.setting);
    expect(warned.sort()).toEqual(
      [`channel:${IDS.general}:max_steps`, `channel:${IDS.general}:user_daily_budget_usd`, `guild:${IDS.guild}:colour`, `guild:${IDS.guild}:model`, `guild:${IDS.guild}:threads`, 'forged', `sideways:${IDS.general}:mode`].sort(),
    );
    expect(lines.every((l) => l.msg === 'a stored setting is not valid; skipping it (the inherited value applies)')).toBe(true);
    expect(settings.skipped(IDS.guild).find((s) => s.id === `channel:${IDS.general}:max_steps`)?.reason).toBe(
      '`max_steps` must be at most 20: the limit whoever runs Cairn set (CAIRN_MAX_STEPS); a server may lower it, never raise it',
    );
    expect(settings.skipped(IDS.otherGuild)).toEqual([]);
    // A valid write over a skipped row replaces it.
    expect(await settings.set({ guildId: IDS.guild, kind: 'channel', id: IDS.general }, 'max_steps', '7', IDS.admin)).toMatchObject({ ok: true, previous: undefined });
    expect(settings.resolve(inGeneral).max_steps.value).toBe(7);
  });
});
