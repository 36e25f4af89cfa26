/**
 * Autocomplete in the fake Discord: what the client sends while someone types in an option that
 * has `autocomplete: true` (an APPLICATION_COMMAND_AUTOCOMPLETE interaction, type 4), and the
 * checks on the bot's answer (callback type 8, APPLICATION_COMMAND_AUTOCOMPLETE_RESULT,
 * `data: { choices: [{ name, value }] }`).
 *
 * Discord docs, Interactions > Receiving and Responding: "Autocomplete interactions allow your
 * application to dynamically return option suggestions to a user as they type"; the response is
 * type 8 with "choices: array of choices (max of 25 choices)". Application Commands > Application
 * Command Option Choice Structure: `name` 1-100 characters, a string `value` up to 100 characters.
 * Application Command Interaction Data Option Structure: the option being typed carries
 * `focused: true`, its `value` is the partial text; options not yet filled in are absent.
 */
import { z } from 'zod';
import { invalidForm, type FieldError } from './errors.js';
import { parseOrInvalidForm } from './rules.js';
import type { FakeUser, InteractionCallbackRecord, SlashOptionValue } from './types.js';
import type { World } from './world.js';
import { CommandSchema } from './interaction-payloads.js';

export interface AutocompleteOptions {
  user: FakeUser;
  channelId: string;
  name: string;
  /** `sub` or `group sub`. */
  subcommand?: string;
  /** Options already filled in (plain values, as for `slash`). */
  options?: Record<string, SlashOptionValue>;
  /** The option being typed and what has been typed so far. */
  focused: { name: string; value: string };
  /** In the user's DM with the bot (channelId is then ignored). */
  dm?: boolean;
}

export interface AutocompleteChoice {
  name: string;
  value: string | number;
}

export interface FakeAutocomplete {
  id: string;
  /** The choices the bot answered with; rejects when it did not answer within the deadline. */
  choices(): Promise<AutocompleteChoice[]>;
  /** Accepted callbacks (a refused answer is only in `requests`). */
  callbacks: InteractionCallbackRecord[];
}

declare module './types.js' {
  interface FakeDiscord {
    /**
     * Someone typing in an autocomplete option of a registered command: the bot gets an
     * APPLICATION_COMMAND_AUTOCOMPLETE interaction and must answer with choices within 3 s.
     * Throws where Discord would never ask (unknown command or option, an option without
     * `autocomplete: true`, a channel the user cannot see).
     */
    autocomplete(opts: AutocompleteOptions): FakeAutocomplete;
  }
}

/** Discord's limits on the answer. */
export const MAX_AUTOCOMPLETE_CHOICES = 25;
const MAX_CHOICE_LENGTH = 100;

// Options and commands are read back as interaction-payloads.ts reads them for slash commands.

/** The `data` of an autocomplete interaction for a command registered where it is typed. */
export function autocompleteData(world: World, opts: AutocompleteOptions, guildId: string | undefined): Record<string, unknown> {
  const here = [...(guildId === undefined ? [] : (world.commands.get(guildId) ?? [])), ...(world.commands.get('') ?? [])];
  const command = here.map((c) => CommandSchema.safeParse(c).data).find((c) => c?.name === opts.name);
  if (command === undefined) throw new Error(`fake Discord: /${opts.name} is not a registered command here`);
  const where = `/${opts.name}${opts.subcommand === undefined ? '' : ` ${opts.subcommand}`}`;
  let defs = command.options ?? [];
  const wrappers: { type: number; name: string }[] = [];
  for (const name of opts.subcommand?.split(' ') ?? []) {
    const def = defs.find((d) => d.name === name && (d.type === 1 || d.type === 2));
    if (def === undefined) throw new Error(`fake Discord: ${where} has no subcommand ${name}`);
    wrappers.push({ type: def.type, name });
    defs = def.options ?? [];
  }
  const focusedDef = defs.find((d) => d.name === opts.focused.name);
  if (focusedDef?.autocomplete !== true) throw new Error(`fake Discord: ${where} option "${opts.focused.name}" has no autocomplete`);
  const filled = Object.entries(opts.options ?? {}).map(([name, value]) => {
    const def = defs.find((d) => d.name === name);
    if (def === undefined) throw new Error(`fake Discord: ${where} has no option "${name}"`);
    // The client only lets people pick one of an option's choices.
    if (def.choices && !def.choices.some((c) => c.value === value)) throw new Error(`fake Discord: ${where} option "${name}" must be one of the choices`);
    if (typeof value === 'object') throw new Error('fake Discord: autocomplete with user or channel options is not modelled');
    return { name, type: def.type, value };
  });
  let options: unknown[] = [...filled, { name: opts.focused.name, type: focusedDef.type, value: opts.focused.value, focused: true }];
  for (const wrapper of wrappers.reverse()) options = [{ ...wrapper, options }];
  return { id: command.id, name: command.name, type: 1, ...(command.guild_id === undefined ? {} : { guild_id: command.guild_id }), options };
}

const ResultSchema = z.looseObject({
  choices: z.array(z.looseObject({ name: z.string(), value: z.union([z.string(), z.number()]) })),
});

/** Checks a type 8 callback's data like Discord: 50035 with the offending field's path. */
export function checkAutocompleteResult(data: unknown): void {
  const { choices } = parseOrInvalidForm(ResultSchema, data);
  const errors: FieldError[] = [];
  if (choices.length > MAX_AUTOCOMPLETE_CHOICES) {
    errors.push({ path: 'data.choices', code: 'BASE_TYPE_MAX_LENGTH', message: `Must be ${MAX_AUTOCOMPLETE_CHOICES} or fewer in length.` });
  }
  choices.forEach((choice, i) => {
    const bad = (text: string) => text.length < 1 || text.length > MAX_CHOICE_LENGTH;
    const message = `Must be between 1 and ${MAX_CHOICE_LENGTH} in length.`;
    if (bad(choice.name)) errors.push({ path: `data.choices.${i}.name`, code: 'BASE_TYPE_BAD_LENGTH', message });
    if (typeof choice.value === 'string' && bad(choice.value)) errors.push({ path: `data.choices.${i}.value`, code: 'BASE_TYPE_BAD_LENGTH', message });
  });
  if (errors.length > 0) throw invalidForm(errors);
}

/** The test's handle on an autocomplete interaction. */
export function autocompleteHandle(interaction: { id: string; callbacks: InteractionCallbackRecord[]; acknowledged(): Promise<InteractionCallbackRecord> }): FakeAutocomplete {
  return {
    id: interaction.id,
    callbacks: interaction.callbacks,
    choices: async () => ResultSchema.parse((await interaction.acknowledged()).data).choices,
  };
}
