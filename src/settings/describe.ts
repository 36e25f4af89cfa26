/**
 * Words for settings in replies and refusals, shared by /config and by whatever a setting stops
 * (a mention not answered, a budget reached): every refusal names the setting, where its value
 * comes from and who can change it.
 */
import { oneLine } from '../text.js';
import { definitionOf } from './keys.js';
import type { ResolvedSetting, SettingKey, SettingValues } from './types.js';

/** Who may change settings on a server (AccessPolicy.isAdmin). */
export const SETTINGS_ADMINS = 'people with the Manage Server permission or one of the admin roles (CAIRN_ADMIN_ROLES)';

/** A value as text, in a code span; long text (instructions) cut to `max`. */
export function shownValue<K extends SettingKey>(key: K, value: SettingValues[K], max = 300): string {
  return `\`${oneLine(definitionOf(key).show(value), max).replaceAll('`', 'ˋ')}\``;
}

/** Where a resolved value comes from: "the default from CAIRN_X", "set for the server", "set for this channel". */
export function sourceText(setting: ResolvedSetting): string {
  if (setting.source === 'server') return 'set for the server';
  if (setting.source !== 'default') return `set for this ${setting.source}`;
  const env = definitionOf(setting.key).env;
  return env === null ? 'the default' : `the default from ${env}`;
}

/**
 * A refusal caused by a setting, e.g. `settingRefusal('Cairn does not answer mentions in this
 * channel', resolved.mentions)` → "… (`mentions` is `off`, set for this channel); people with the
 * Manage Server permission … can change it with `/config set key:mentions`."
 */
export function settingRefusal(what: string, setting: ResolvedSetting): string {
  return `${what} (\`${setting.key}\` is ${shownValue(setting.key, setting.value, 100)}, ${sourceText(setting)}); ${SETTINGS_ADMINS} can change it with \`/config set key:${setting.key}\`.`;
}
