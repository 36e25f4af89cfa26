/**
 * Autocomplete: Discord asks for suggestions as someone types an option (interaction type 4) and
 * the bot answers with at most 25 choices (callback type 8, APPLICATION_COMMAND_AUTOCOMPLETE_RESULT;
 * Interactions > Receiving and Responding > Autocomplete). Autocomplete interactions are not
 * repliable: a refusal or a failure is an empty list, never a message.
 */
import type { AutocompleteInteraction } from 'discord.js';
import type { SlashCommand } from '../../commands/types.js';
import { callerOfInteraction, type BotApp } from './context.js';

export interface Choice {
  name: string;
  value: string;
}

/** A command that suggests values for its autocomplete options. */
export interface Completer {
  autocomplete(interaction: AutocompleteInteraction, bot: BotApp): Choice[] | Promise<Choice[]>;
}

/** Discord's limits on an autocomplete result (Application Commands > Option Choice Structure). */
export const MAX_CHOICES = 25;
const MAX_CHOICE_LENGTH = 100;

/**
 * Suggestions arrive as people type, several per command: they get their own allowance (this many
 * times CAIRN_COMMANDS_PER_MINUTE), so typing never spends the commands a person may send.
 */
const TYPING_ALLOWANCE = 4;

/** Per-user requests within a sliding minute, for people typing. */
class TypingLimiter {
  readonly #recent = new Map<string, number[]>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number,
  ) {}

  allow(userId: string): boolean {
    const now = this.now();
    const recent = (this.#recent.get(userId) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= this.perMinute) return false;
    recent.push(now);
    this.#recent.set(userId, recent);
    // Only people active in the last minute are kept.
    if (this.#recent.size > 10_000) for (const [id, times] of this.#recent) if (times.every((t) => now - t >= 60_000)) this.#recent.delete(id);
    return true;
  }
}

/** Commands are modules: one that exports `autocomplete` suggests values. */
function isCompleter(command: SlashCommand | undefined): command is SlashCommand & Completer {
  return command !== undefined && 'autocomplete' in command && typeof command.autocomplete === 'function';
}

/** What Discord accepts: at most 25 choices, names and values of 1–100 characters. */
export function boundedChoices(choices: readonly Choice[]): Choice[] {
  const fits = (text: string) => text.length >= 1 && text.length <= MAX_CHOICE_LENGTH;
  return choices.filter((c) => fits(c.name) && fits(c.value)).slice(0, MAX_CHOICES);
}

/**
 * Answers autocomplete interactions for `commands`, after the allow-lists and a typing rate
 * limit. Anything refused, unknown or failing gets an empty list (logged when it failed).
 */
export function createAutocomplete(bot: BotApp, commands: readonly SlashCommand[], now: () => number = Date.now): (interaction: AutocompleteInteraction) => Promise<void> {
  const byName = new Map(commands.map((c) => [c.data.name, c]));
  const limiter = new TypingLimiter(bot.app.config.discord.commandsPerMinute * TYPING_ALLOWANCE, now);
  return async (interaction) => {
    try {
      const caller = callerOfInteraction(interaction);
      const command = byName.get(interaction.commandName);
      const allowed = bot.access.refusal(caller) === null && limiter.allow(caller.userId);
      const choices = allowed && isCompleter(command) ? await command.autocomplete(interaction, bot) : [];
      await interaction.respond(boundedChoices(choices));
    } catch (error) {
      bot.log.warn({ err: error, command: interaction.commandName }, 'autocomplete failed');
      if (!interaction.responded) await interaction.respond([]).catch(() => undefined);
    }
  };
}
