/**
 * How /config shows settings: the list (every key, its value here and where it comes from), one
 * key in full at every level, and the words for scopes and sources used in its replies.
 */
import { shownValue, sourceText } from '../src/settings/describe.js';
import { definitionOf, type Settings, type SettingScope } from '../src/settings/service.js';
import { SETTING_KEYS, type ResolvedSetting, type SettingKey, type SettingSource, type SettingsWhere } from '../src/settings/types.js';
import { oneLine } from '../src/text.js';

/** Where a scope is, for replies: this server, #channel, this thread. */
export function scopeLabel(scope: SettingScope): string {
  if (scope.kind === 'guild') return 'this server';
  return scope.kind === 'channel' ? `<#${scope.id}>` : `this thread (<#${scope.id}>)`;
}

const ORIGIN: Record<SettingSource, string> = { default: 'default', server: 'server', channel: 'channel', thread: 'thread' };

function who(setting: ResolvedSetting): string {
  if (setting.updatedBy === null || setting.updatedAt === null) return '';
  return ` · <@${setting.updatedBy}> <t:${Math.floor(setting.updatedAt / 1000)}:R>`;
}

/** Every key with its value and source at `where` (instructions shortened), then any skipped rows. */
export function listing(settings: Settings, where: SettingsWhere): string {
  const resolved = settings.resolve(where);
  const lines = SETTING_KEYS.map((key) => {
    const setting: ResolvedSetting = resolved[key];
    const env = setting.source === 'default' ? definitionOf(key).env : null;
    return `\`${key}\` ${shownValue(key, resolved[key].value, 60)} — ${ORIGIN[setting.source]}${env === null ? '' : ` (${env})`}${who(setting)}`;
  });
  const skipped = where.guildId === null ? [] : settings.skipped(where.guildId);
  if (skipped.length > 0) {
    lines.push(`-# Ignored stored values (no longer valid, so the inherited value applies): ${oneLine(skipped.map((s) => `${s.id}: ${s.reason}`).join('; '), 400)}`);
  }
  return lines.join('\n');
}

/** One key in full: what it is, its value here, and what each level holds. */
export function detail(settings: Settings, where: SettingsWhere & { guildId: string }, key: SettingKey): string {
  const definition = definitionOf(key);
  const here = settings.resolve(where)[key];
  const levels: { label: string; scope: SettingScope }[] = [{ label: 'server', scope: { guildId: where.guildId, kind: 'guild', id: where.guildId } }];
  if (where.channelId !== null) levels.push({ label: `channel <#${where.channelId}>`, scope: { guildId: where.guildId, kind: 'channel', id: where.channelId } });
  if (typeof where.threadId === 'string') levels.push({ label: `thread <#${where.threadId}>`, scope: { guildId: where.guildId, kind: 'thread', id: where.threadId } });
  const lines = [
    `**\`${key}\`** — ${definition.description}`,
    `Here: ${shownValue(key, here.value, 1_600)} (${sourceText(here)})`,
    `• default: ${shownValue(key, definition.defaultValue(settings.limits), 200)}${definition.env === null ? '' : ` (${definition.env})`}`,
  ];
  for (const { label, scope } of levels) {
    const stored = definition.scopes.includes(scope.kind) ? settings.storedAt(scope, key) : undefined;
    const value = definition.scopes.includes(scope.kind) ? (stored === undefined ? 'not set' : `${shownValue(key, stored.value, 200)}${who(stored)}`) : 'cannot be set here';
    lines.push(`• ${label}: ${value}`);
  }
  return lines.join('\n');
}
