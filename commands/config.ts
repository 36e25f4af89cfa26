import { InteractionContextType, MessageFlags, SlashCommandBuilder, type AutocompleteInteraction, type ChatInputCommandInteraction } from 'discord.js';
import type { Choice } from '../src/discord/autocomplete.js';
import { callerOfInteraction, type BotApp } from '../src/discord/context.js';
import { isSettingKey } from '../src/settings/keys.js';
import { definitionOf, type SettingScope } from '../src/settings/service.js';
import { SETTING_KEYS, SOURCE_OF_SCOPE, type SettingKey, type SettingSource, type SettingsWhere } from '../src/settings/types.js';
import { clip } from '../src/text.js';
import { SETTINGS_ADMINS, shownValue, sourceText } from '../src/settings/describe.js';
import { detail, listing, scopeLabel } from './config-view.js';

const KEY_CHOICES = SETTING_KEYS.map((key) => ({ name: key, value: key }));
const SCOPES = ['server', 'channel', 'thread'] as const;
type ScopeChoice = (typeof SCOPES)[number];
const SCOPE_CHOICES = SCOPES.map((s) => ({ name: s, value: s }));
const SCOPE_HELP = 'Where: server (default), this channel, or this thread';

export const data = new SlashCommandBuilder()
  .setName('config')
  .setDescription('Cairn’s settings for this server, channel or thread.')
  // Offered in DMs too, to say that settings are per server.
  .setContexts(InteractionContextType.Guild, InteractionContextType.BotDM)
  .addSubcommand((s) =>
    s
      .setName('show')
      .setDescription('Every setting here, its value and where it comes from')
      .addStringOption((o) => o.setName('key').setDescription('One setting in full, at every level').addChoices(...KEY_CHOICES)),
  )
  .addSubcommand((s) =>
    s
      .setName('set')
      .setDescription('Change a setting (needs Manage Server or an admin role)')
      .addStringOption((o) => o.setName('key').setDescription('The setting').setRequired(true).addChoices(...KEY_CHOICES))
      .addStringOption((o) => o.setName('value').setDescription('The new value (none clears instructions and disabled_tools)').setRequired(true).setMaxLength(1_500).setAutocomplete(true))
      .addStringOption((o) => o.setName('scope').setDescription(SCOPE_HELP).addChoices(...SCOPE_CHOICES)),
  )
  .addSubcommand((s) =>
    s
      .setName('reset')
      .setDescription('Remove a value so it is inherited again (needs Manage Server or an admin role)')
      .addStringOption((o) => o.setName('key').setDescription('The setting').setRequired(true).addChoices(...KEY_CHOICES))
      .addStringOption((o) => o.setName('scope').setDescription(SCOPE_HELP).addChoices(...SCOPE_CHOICES)),
  );

const INHERITANCE = '-# Values inherit: default (the environment) → server → channel → thread; the most specific one set applies, from the next run on.';

/** Where the interaction happens, as settings see it: in a thread, its parent is the channel. */
function whereOf(interaction: ChatInputCommandInteraction): SettingsWhere {
  const inThread = interaction.channel?.isThread() === true;
  return {
    guildId: interaction.guildId,
    channelId: callerOfInteraction(interaction).channelId || null,
    threadId: inThread ? interaction.channelId : null,
  };
}

/** The scope a change goes to. Default: the server, the least surprising (and said in the reply). */
function scopeOf(choice: ScopeChoice, where: SettingsWhere & { guildId: string }): SettingScope | string {
  if (choice === 'server') return { guildId: where.guildId, kind: 'guild', id: where.guildId };
  if (choice === 'channel') return where.channelId === null ? 'There is no channel here.' : { guildId: where.guildId, kind: 'channel', id: where.channelId };
  if (typeof where.threadId !== 'string') return 'This is not a thread: use `scope:thread` inside the thread, or choose `scope:server` or `scope:channel`.';
  return { guildId: where.guildId, kind: 'thread', id: where.threadId };
}

/** Default < server < channel < thread: a more specific value takes precedence. */
const SPECIFICITY: Record<SettingSource, number> = { default: 0, server: 1, channel: 2, thread: 3 };

/** What `key` resolves to here after a change at `scope`, in words. */
function nowHere(bot: BotApp, where: SettingsWhere, key: SettingKey, scope: SettingScope): string {
  const here = bot.app.settings.resolve(where)[key];
  const value = shownValue(key, here.value, 200);
  const changed = SPECIFICITY[SOURCE_OF_SCOPE[scope.kind]];
  if (SPECIFICITY[here.source] === changed) return `Here it now resolves to ${value}, from the next run on.`;
  if (SPECIFICITY[here.source] > changed) return `Here it still resolves to ${value}: it is ${sourceText(here)}, which takes precedence.`;
  return `Here it now resolves to ${value}, inherited: ${sourceText(here)}.`;
}

export async function execute(interaction: ChatInputCommandInteraction, bot: BotApp): Promise<void> {
  // Writes wait behind the settings table's write queue: acknowledge within Discord's 3 s first.
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const reply = (content: string) => interaction.editReply({ content: clip(content, 2_000), allowedMentions: { parse: [] } });
  const sub = interaction.options.getSubcommand();
  const where = whereOf(interaction);
  const { settings } = bot.app;
  const { guildId } = where;
  if (guildId === null) {
    const intro = 'Settings are per server: use `/config` in a channel of a server Cairn is in. Here, in direct messages, Cairn uses its defaults';
    await reply(sub === 'show' ? `${intro}:\n${listing(settings, where)}` : `${intro}, which only whoever runs Cairn can change.`);
    return;
  }
  const here = { ...where, guildId };
  const keyOption = interaction.options.getString('key', sub !== 'show');
  if (sub === 'show') {
    await reply(keyOption !== null && isSettingKey(keyOption) ? detail(settings, here, keyOption) : `**Cairn’s settings here**\n${listing(settings, here)}\n${INHERITANCE}\n-# \`/config show key:…\` shows one in full; \`/config set\` changes one (${SETTINGS_ADMINS}).`);
    return;
  }
  if (keyOption === null || !isSettingKey(keyOption)) {
    await reply(`There is no setting \`${clip(keyOption ?? '', 64)}\`. The settings are: ${SETTING_KEYS.join(', ')}.`);
    return;
  }
  const key = keyOption;
  const caller = callerOfInteraction(interaction);
  if (!bot.access.isAdmin(caller)) {
    const current = settings.resolve(here)[key];
    await reply(`\`${key}\` can only be changed by ${SETTINGS_ADMINS}; ask one of them. Here it is ${shownValue(key, current.value, 200)} (${sourceText(current)}).`);
    return;
  }
  const scopeChoice = SCOPES.find((s) => s === interaction.options.getString('scope')) ?? 'server';
  const scope = scopeOf(scopeChoice, here);
  if (typeof scope === 'string') {
    await reply(scope);
    return;
  }
  if (sub === 'set') {
    const outcome = await settings.set(scope, key, interaction.options.getString('value', true), caller.userId);
    if (!outcome.ok) {
      await reply(`${outcome.refusal} Nothing was changed.`);
      return;
    }
    const was = outcome.previous === undefined ? '' : ` (was ${shownValue(key, outcome.previous, 100)})`;
    // Said only where a narrower scope exists for this key.
    const narrower = interaction.options.getString('scope') === null && definitionOf(key).scopes.includes('channel');
    const defaulted = narrower ? ' (the default scope; add `scope:channel` for this channel only)' : '';
    await reply(`✅ \`${key}\` is now ${shownValue(key, outcome.value, 300)} for ${scopeLabel(scope)}${defaulted}${was}.\n${nowHere(bot, here, key, scope)}`);
    return;
  }
  const reset = await settings.reset(scope, key);
  if (reset.previous === undefined) {
    const current = settings.resolve(here)[key];
    await reply(`\`${key}\` has no value of its own for ${scopeLabel(scope)}; nothing changed. Here it resolves to ${shownValue(key, current.value, 200)} (${sourceText(current)}).`);
    return;
  }
  await reply(`↩️ \`${key}\` reset for ${scopeLabel(scope)} (was ${shownValue(key, reset.previous, 100)}).\n${nowHere(bot, here, key, scope)}`);
}

/** Suggestions for `value` from the chosen key's definition (the model allow-list, tool names, choices). */
export function autocomplete(interaction: AutocompleteInteraction, bot: BotApp): Choice[] {
  const focused = interaction.options.getFocused(true);
  const key = interaction.options.getString('key');
  if (focused.name !== 'value' || key === null || !isSettingKey(key)) return [];
  // What people type is bounded before it is matched against anything.
  const typed = focused.value.slice(0, 200);
  return (definitionOf(key).suggest?.(typed, bot.app.settings.limits) ?? []).map((value) => ({ name: value, value }));
}
