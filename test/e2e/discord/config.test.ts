/**
 * /config through the real bot and the fake Discord: values set at the server and overridden in a
 * channel, `show` naming each value's source, `reset` falling back, refusals that name the setting
 * and who can change it, the model allow-list with autocomplete, and values kept across a restart.
 */
import { describe, expect, it } from 'vitest';
import { registerCommands } from '../../../src/discord/bot.js';
import type { FakeDiscord, FakeUser, SlashOptionValue } from '../../fakes/discord/index.js';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { privateText, useBot } from './harness.js';

const openai = useFakeOpenAi();
const startBot = useBot(openai);
const MODELS = { CAIRN_MODELS: 'llama3.1:8b, qwen2.5:7b' };
const ADMINS = 'people with the Manage Server permission or one of the admin roles (CAIRN_ADMIN_ROLES)';

function config(discord: FakeDiscord, subcommand: string, options: Record<string, SlashOptionValue> = {}, user: FakeUser = discord.users.carol, channelId = discord.channels.general) {
  return privateText(discord.slash({ user, channelId, name: 'config', subcommand, options }), discord);
}

const lineOf = (text: string, key: string) => text.split('\n').find((line) => line.startsWith(`\`${key}\` `));

describe('/config', () => {
  it('sets a value for the server, overrides it in a channel, shows the sources and resets back', async () => {
    const { discord, app } = await startBot({ env: MODELS });
    const { guildId } = discord;
    const { general, noThreads } = discord.channels;

    expect(await config(discord, 'set', { key: 'max_steps', value: '12' })).toBe(
      '✅ `max_steps` is now `12` for this server (the default scope; add `scope:channel` for this channel only).\nHere it now resolves to `12`, from the next run on.',
    );
    expect(await config(discord, 'set', { key: 'max_steps', value: '8', scope: 'channel' })).toBe(
      `✅ \`max_steps\` is now \`8\` for <#${general}>.\nHere it now resolves to \`8\`, from the next run on.`,
    );
    // The next resolve sees both, each where it applies.
    expect(app.settings.resolve({ guildId, channelId: general }).max_steps).toMatchObject({ value: 8, source: 'channel', updatedBy: discord.users.carol.id });
    expect(app.settings.resolve({ guildId, channelId: noThreads }).max_steps).toMatchObject({ value: 12, source: 'server' });

    // Anyone may look; each value says where it comes from.
    const shown = await config(discord, 'show', {}, discord.users.alice);
    expect(shown).toMatch(/^\*\*Cairn’s settings here\*\*\n/);
    expect(lineOf(shown, 'max_steps')).toMatch(new RegExp(`^\`max_steps\` \`8\` — channel · <@${discord.users.carol.id}> <t:\\d+:R>$`));
    expect(lineOf(shown, 'model')).toBe('`model` `gpt-4o-mini` — default (CAIRN_MODEL)');
    expect(lineOf(shown, 'mode')).toBe('`mode` `react` — default');
    expect(lineOf(shown, 'server_daily_budget_usd')).toBe('`server_daily_budget_usd` `unlimited` — default (CAIRN_SERVER_DAILY_BUDGET_USD)');
    const elsewhere = await config(discord, 'show', {}, discord.users.alice, noThreads);
    expect(lineOf(elsewhere, 'max_steps')).toMatch(/^`max_steps` `12` — server · /);
    expect(await config(discord, 'show', { key: 'max_steps' }, discord.users.alice)).toMatch(
      new RegExp(`^\\*\\*\`max_steps\`\\*\\* — Model calls per run, at most CAIRN_MAX_STEPS\\.\\nHere: \`8\` \\(set for this channel\\)\\n• default: \`20\` \\(CAIRN_MAX_STEPS\\)\\n• server: \`12\` · <@\\d+> <t:\\d+:R>\\n• channel <#${general}>: \`8\` · `),
    );

    expect(await config(discord, 'reset', { key: 'max_steps', scope: 'channel' })).toBe(
      `↩️ \`max_steps\` reset for <#${general}> (was \`8\`).\nHere it now resolves to \`12\`, inherited: set for the server.`,
    );
    expect(await config(discord, 'reset', { key: 'max_steps', scope: 'channel' })).toBe(
      `\`max_steps\` has no value of its own for <#${general}>; nothing changed. Here it resolves to \`12\` (set for the server).`,
    );
    expect(await config(discord, 'reset', { key: 'max_steps' })).toBe('↩️ `max_steps` reset for this server (was `12`).\nHere it now resolves to `20`, inherited: the default from CAIRN_MAX_STEPS.');
    expect(app.settings.resolve({ guildId, channelId: general }).max_steps).toMatchObject({ value: 20, source: 'default' });
  });

  it('refuses people who are not admins, naming the setting and who can change it', async () => {
    const { discord, app } = await startBot({ env: MODELS });
    const { guildId } = discord;
    const { general } = discord.channels;
    expect(await config(discord, 'set', { key: 'model', value: 'llama3.1:8b' }, discord.users.alice)).toBe(
      `\`model\` can only be changed by ${ADMINS}; ask one of them. Here it is \`gpt-4o-mini\` (the default from CAIRN_MODEL).`,
    );
    expect(app.settings.resolve({ guildId, channelId: general }).model.source).toBe('default');
    expect(await config(discord, 'set', { key: 'model', value: 'llama3.1:8b' })).toMatch(/^✅ `model` is now `llama3\.1:8b` for this server/);
    // mallory is an admin of the other server only: no powers here.
    expect(await config(discord, 'reset', { key: 'model' }, discord.users.mallory)).toBe(
      `\`model\` can only be changed by ${ADMINS}; ask one of them. Here it is \`llama3.1:8b\` (set for the server).`,
    );
    expect(app.settings.resolve({ guildId, channelId: general }).model).toMatchObject({ value: 'llama3.1:8b', source: 'server' });
  });

  it('allows only models on the allow-list, and offers them while typing', async () => {
    const { discord, app } = await startBot({ env: MODELS });
    expect(await config(discord, 'set', { key: 'model', value: 'gpt-5' })).toBe(
      '`model` "gpt-5" is not on the allow-list (gpt-4o-mini, llama3.1:8b, qwen2.5:7b); whoever runs Cairn can add models to CAIRN_MODELS. Nothing was changed.',
    );
    const typing = (value: string, key = 'model', user = discord.users.alice) =>
      discord.autocomplete({ user, channelId: discord.channels.general, name: 'config', subcommand: 'set', options: { key }, focused: { name: 'value', value } }).choices();
    expect(await typing('')).toEqual(['gpt-4o-mini', 'llama3.1:8b', 'qwen2.5:7b'].map((m) => ({ name: m, value: m })));
    expect(await typing('QW')).toEqual([{ name: 'qwen2.5:7b', value: 'qwen2.5:7b' }]);
    const tools = await typing('http', 'disabled_tools');
    expect(tools.map((c) => c.value)).toEqual(expect.arrayContaining(['http_get', 'http_request']));
    expect(app.tools.list().map((t) => t.name)).toEqual(expect.arrayContaining(tools.map((c) => c.value)));
    // Free-text keys offer nothing.
    expect(await typing('Be brief', 'instructions')).toEqual([]);
    // Input from a modified client, far over the option's limit, is cut before it is matched.
    expect(await typing('x'.repeat(6_000))).toEqual([]);
  });

  it('bounds the choices, and refuses people the allow-lists do not admit, with an empty list', async () => {
    const many = Array.from({ length: 40 }, (_, i) => `model-${String(i).padStart(2, '0')}`);
    const { discord } = await startBot({ env: (d) => ({ CAIRN_MODELS: many.join(','), CAIRN_ALLOWED_USERS: d.users.carol.id }) });
    const typing = (user: FakeUser) =>
      discord.autocomplete({ user, channelId: discord.channels.general, name: 'config', subcommand: 'set', options: { key: 'model' }, focused: { name: 'value', value: 'model' } }).choices();
    const offered = await typing(discord.users.carol);
    expect(offered).toHaveLength(25);
    expect(offered[0]).toEqual({ name: 'model-00', value: 'model-00' });
    expect(await typing(discord.users.alice)).toEqual([]);
  });

  it('keeps budgets within the operator’s limits and to the server scope', async () => {
    const { discord, app } = await startBot();
    expect(await config(discord, 'set', { key: 'user_daily_budget_usd', value: '10' })).toBe(
      '`user_daily_budget_usd` must be at most $5.00: the limit whoever runs Cairn set (CAIRN_DAILY_BUDGET_USD); a server may lower it, never raise it. Nothing was changed.',
    );
    expect(await config(discord, 'set', { key: 'user_daily_budget_usd', value: '2', scope: 'channel' })).toBe(
      '`user_daily_budget_usd` can be set for a server only, not for a channel. Nothing was changed.',
    );
    expect(await config(discord, 'set', { key: 'user_daily_budget_usd', value: '$2.50' })).toMatch(/^✅ `user_daily_budget_usd` is now `\$2\.50` for this server/);
    expect(await config(discord, 'set', { key: 'max_steps', value: '21' })).toBe(
      '`max_steps` must be at most 20: the limit whoever runs Cairn set (CAIRN_MAX_STEPS); a server may lower it, never raise it. Nothing was changed.',
    );
    expect(await config(discord, 'set', { key: 'mode', value: 'plan', scope: 'thread' })).toBe(
      'This is not a thread: use `scope:thread` inside the thread, or choose `scope:server` or `scope:channel`.',
    );
    expect(app.settings.resolve({ guildId: discord.guildId, channelId: discord.channels.general }).user_daily_budget_usd.value).toBe(2.5);
  });

  it('keeps settings across a restart', async () => {
    const harness = await startBot({ env: MODELS });
    const { discord, bot } = harness;
    await config(discord, 'set', { key: 'instructions', value: 'You are Pip, a cheerful ship’s cat. Answer in one paragraph.' });
    await config(discord, 'set', { key: 'model', value: 'qwen2.5:7b', scope: 'channel' });
    await config(discord, 'set', { key: 'mentions', value: 'off', scope: 'channel' });
    await bot.stop();
    const again = await harness.restart();
    // The new process reads the table afresh: nothing carried over in memory.
    const here = again.context.app.settings.resolve({ guildId: discord.guildId, channelId: discord.channels.general });
    expect(here.instructions).toMatchObject({ value: 'You are Pip, a cheerful ship’s cat. Answer in one paragraph.', source: 'server' });
    expect(here.model).toMatchObject({ value: 'qwen2.5:7b', source: 'channel' });
    expect(here.mentions).toMatchObject({ value: false, source: 'channel' });
    const shown = await config(discord, 'show', {}, discord.users.bob);
    expect(lineOf(shown, 'instructions')).toMatch(/^`instructions` `You are Pip, a cheerful ship’s cat\. Answer in one paragraph\.` — server · /);
  });

  it('lets a thread override its channel, with the channel meaning the thread’s parent', async () => {
    const { discord, app } = await startBot();
    const { general } = discord.channels;
    openai.script({ kind: 'text', content: 'Done.' });
    const run = discord.slash({ user: discord.users.carol, channelId: general, name: 'agent', options: { goal: 'Say done.' } });
    await discord.waitFor(() => run.followUps().find((m) => m.content === 'Done.'));
    const thread = await discord.waitFor(() => discord.threads()[0]);
    const inThread = { guildId: discord.guildId, channelId: general, threadId: thread.id };

    await config(discord, 'set', { key: 'mode', value: 'plan', scope: 'channel' }, discord.users.carol, thread.id);
    expect(app.settings.resolve(inThread).mode).toMatchObject({ value: 'plan', source: 'channel' });
    expect(await config(discord, 'set', { key: 'mode', value: 'reflexion', scope: 'thread' }, discord.users.carol, thread.id)).toBe(
      `✅ \`mode\` is now \`reflexion\` for this thread (<#${thread.id}>).\nHere it now resolves to \`reflexion\`, from the next run on.`,
    );
    expect(app.settings.resolve(inThread).mode).toMatchObject({ value: 'reflexion', source: 'thread' });
    expect(app.settings.resolve({ guildId: discord.guildId, channelId: general }).mode).toMatchObject({ value: 'plan', source: 'channel' });
    expect(await config(discord, 'set', { key: 'threads', value: 'on', scope: 'thread' }, discord.users.carol, thread.id)).toBe(
      '`threads` can be set for a server or a channel only, not for a thread. Nothing was changed.',
    );
    // A change at the channel does not reach here while the thread has its own value.
    expect(await config(discord, 'set', { key: 'mode', value: 'react', scope: 'channel' }, discord.users.carol, thread.id)).toBe(
      `✅ \`mode\` is now \`react\` for <#${general}> (was \`plan\`).\nHere it still resolves to \`reflexion\`: it is set for this thread, which takes precedence.`,
    );
  });

  it('says in a DM that settings are per server', async () => {
    const { discord, bot } = await startBot();
    // DMs only offer global commands: register them globally too, as `cairn deploy-commands` would.
    if (bot.client.application === null) throw new Error('no application');
    await registerCommands(bot.client.rest, bot.client.application.id, undefined);
    const dm = (subcommand: string, options: Record<string, SlashOptionValue> = {}) =>
      privateText(discord.slash({ user: discord.users.alice, channelId: '', dm: true, name: 'config', subcommand, options }), discord);
    expect(await dm('show')).toMatch(/^Settings are per server: use `\/config` in a channel of a server Cairn is in\. Here, in direct messages, Cairn uses its defaults:\n`instructions` `none` — default\n/);
    expect(await dm('set', { key: 'mode', value: 'plan' })).toBe(
      'Settings are per server: use `/config` in a channel of a server Cairn is in. Here, in direct messages, Cairn uses its defaults, which only whoever runs Cairn can change.',
    );
  });
});
