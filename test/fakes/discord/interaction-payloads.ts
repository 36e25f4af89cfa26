/**
 * INTERACTION_CREATE payloads for slash commands, button clicks and modal submits, complete
 * enough for discord.js (channel object, member with permissions, entitlements, owners …).
 * Slash options are typed from the registered command when there is one, so discord.js's typed
 * getters behave as they would against Discord.
 */
import { z } from 'zod';
import { channelPayload, memberPayload, messagePayload, userPayload } from './payloads.js';
import { Permission } from './permissions.js';
import type { InteractionRecord } from './interactions.js';
import type { SlashOptions, SlashOptionValue } from './types.js';
import type { StoredMessage, World } from './world.js';

/** A registered command's option, as the fake reads it back (slash payloads and autocomplete). */
export interface OptionDef {
  type: number;
  name: string;
  required?: boolean | undefined;
  autocomplete?: boolean | undefined;
  choices?: { value: string | number }[] | undefined;
  options?: OptionDef[] | undefined;
}
const OptionDefSchema: z.ZodType<OptionDef> = z.lazy(() =>
  z.looseObject({
    type: z.number(),
    name: z.string(),
    required: z.boolean().optional(),
    autocomplete: z.boolean().optional(),
    choices: z.array(z.looseObject({ value: z.union([z.string(), z.number()]) })).optional(),
    options: z.array(OptionDefSchema).optional(),
  }),
);
export const CommandSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  guild_id: z.string().optional(),
  options: z.array(OptionDefSchema).optional(),
  default_member_permissions: z.string().nullish(),
  dm_permission: z.boolean().nullish(),
  contexts: z.array(z.number()).nullish(),
});
type Command = z.infer<typeof CommandSchema>;

export function basePayload(world: World, record: InteractionRecord): Record<string, unknown> {
  const channel = world.channel(record.channelId);
  const user = world.users.get(record.userId);
  if (!channel || !user) throw new Error('fake Discord: interaction in an unknown channel or by an unknown user');
  const guildId = world.guildIdOf(channel);
  const common = {
    id: record.id,
    application_id: world.applicationId,
    type: record.type,
    token: record.token,
    version: 1,
    channel_id: channel.id,
    channel: channelPayload(world, channel, record.userId),
    app_permissions: world.permissionsIn(world.bot.id, channel.id).toString(),
    locale: 'en-US',
    entitlements: [],
    attachment_size_limit: 10 * 1024 * 1024,
  };
  if (guildId === undefined) {
    // In the bot's DM the guild-install owner is reported as '0'.
    return { ...common, user: userPayload(user), context: 1, authorizing_integration_owners: { '0': '0' } };
  }
  const guild = world.guild(guildId);
  if (!guild) throw new Error(`fake Discord: unknown guild ${guildId}`);
  // In a guild: guild_id, a partial guild, the guild's preferred locale, and the invoker's member of
  // *that* guild with their resolved permissions in the channel (Interactions > Interaction Object).
  return {
    ...common,
    guild_id: guild.id,
    guild: { id: guild.id, locale: guild.locale, features: [] },
    guild_locale: guild.locale,
    member: { ...memberPayload(world, guild.id, user.id), permissions: world.permissionsIn(user.id, channel.id).toString() },
    context: 0,
    authorizing_integration_owners: { '0': guild.id },
  };
}

/**
 * The registered command named `name` where the interaction happens: a guild command is only
 * available in its own guild, a global one everywhere (Application Commands > Registering a
 * Command). Undefined when nothing is registered at all, so fake-only tests need not register.
 */
function findCommand(world: World, guildId: string | undefined, name: string): Command | undefined | 'unregistered' {
  if ([...world.commands.values()].every((list) => list.length === 0)) return undefined;
  const here = [...(guildId === undefined ? [] : (world.commands.get(guildId) ?? [])), ...(world.commands.get('') ?? [])];
  const found = here.map((c) => CommandSchema.safeParse(c).data).find((c) => c?.name === name);
  return found ?? 'unregistered';
}

/** Discord's client refuses what its UI would not offer; the fake throws instead. */
function checkAvailability(world: World, command: Command, opts: SlashOptions, guildId: string | undefined): void {
  if (opts.dm === true && (command.dm_permission === false || (command.contexts && !command.contexts.includes(1)))) {
    throw new Error(`fake Discord: /${command.name} is not available in DMs`);
  }
  const required = command.default_member_permissions;
  if (guildId !== undefined && required !== undefined && required !== null) {
    const bits = BigInt(required);
    const held = world.guildPermissions(guildId, opts.user.id);
    // "0" means administrators only.
    const allowed = bits === 0n ? (held & Permission.Administrator) !== 0n : (held & bits) === bits;
    if (!allowed) {
      throw new Error(`fake Discord: ${opts.user.username} lacks the permissions /${command.name} requires`);
    }
  }
}

function inferType(value: SlashOptionValue): number {
  if (typeof value === 'string') return 3;
  if (typeof value === 'boolean') return 5;
  if (typeof value === 'number') return Number.isInteger(value) ? 4 : 10;
  if ('attachment' in value) return 11;
  return 'channel' in value ? 7 : 6;
}

const TYPE_CHECKS: Record<number, (value: SlashOptionValue) => boolean> = {
  3: (v) => typeof v === 'string',
  4: (v) => typeof v === 'number' && Number.isInteger(v),
  5: (v) => typeof v === 'boolean',
  6: (v) => typeof v === 'object' && 'user' in v,
  7: (v) => typeof v === 'object' && 'channel' in v,
  10: (v) => typeof v === 'number',
  11: (v) => typeof v === 'object' && 'attachment' in v,
};

/** Where a slash command is run: the invoking user, and the guild (undefined in a DM). */
export interface SlashPlace {
  userId: string;
  guildId: string | undefined;
}

export function slashData(world: World, opts: SlashOptions, place: SlashPlace): Record<string, unknown> {
  const { guildId } = place;
  const found = findCommand(world, guildId, opts.name);
  if (found === 'unregistered') {
    const where = guildId === undefined ? 'globally (DMs only offer global commands)' : `globally or in guild ${guildId}`;
    throw new Error(`fake Discord: /${opts.name} is not a registered command here (not ${where})`);
  }
  if (found) checkAvailability(world, found, opts, guildId);
  const where = `/${opts.name}${opts.subcommand ? ` ${opts.subcommand}` : ''}`;
  let defs = found?.options;
  const wrappers: { type: number; name: string }[] = [];
  const path = opts.subcommand?.split(' ') ?? [];
  for (const [i, name] of path.entries()) {
    const def = defs?.find((d) => d.name === name);
    if (found && def?.type !== 1 && def?.type !== 2) throw new Error(`fake Discord: ${where} has no subcommand ${name}`);
    wrappers.push({ type: def?.type ?? (i === path.length - 1 ? 1 : 2), name });
    defs = found ? (def?.options ?? []) : undefined;
  }
  if (defs?.some((d) => d.type === 1 || d.type === 2)) throw new Error(`fake Discord: ${where} needs a subcommand`);

  const resolved: Resolved = {};
  const leaves = Object.entries(opts.options ?? {}).map(([name, value]) => {
    const def = defs?.find((d) => d.name === name);
    if (defs && !def) throw new Error(`fake Discord: ${where} has no option "${name}"`);
    const type = def?.type ?? inferType(value);
    const check = TYPE_CHECKS[type];
    if (!check?.(value)) throw new Error(`fake Discord: ${where} option "${name}" (type ${type}) cannot take ${JSON.stringify(value)}`);
    if (def?.choices && !def.choices.some((c) => c.value === value)) {
      throw new Error(`fake Discord: ${where} option "${name}" must be one of the choices`);
    }
    if (typeof value !== 'object') return { name, type, value };
    // An attachment option's value is the attachment's id; the Attachment Object is in resolved.attachments.
    if ('attachment' in value) {
      (resolved.attachments ??= {})[value.attachment.id] = value.attachment;
      return { name, type, value: value.attachment.id };
    }
    const id = 'channel' in value ? value.channel : value.user;
    resolve(world, resolved, type, id, place);
    return { name, type, value: id };
  });
  for (const def of defs ?? []) {
    if (def.required === true && !(def.name in (opts.options ?? {}))) {
      throw new Error(`fake Discord: ${where} needs option "${def.name}"`);
    }
  }
  let options: unknown[] = leaves;
  for (const wrapper of wrappers.reverse()) options = [{ ...wrapper, options }];
  return {
    id: found?.id ?? world.ids.next(),
    name: opts.name,
    type: 1,
    ...(found?.guild_id === undefined ? {} : { guild_id: found.guild_id }),
    options,
    ...(Object.keys(resolved).length > 0 ? { resolved } : {}),
  };
}

interface Resolved {
  attachments?: Record<string, unknown>;
  channels?: Record<string, unknown>;
  users?: Record<string, unknown>;
  members?: Record<string, unknown>;
}

/** Resolved data (Interactions > Resolved Data Structure): members are those of the guild at hand. */
function resolve(world: World, resolved: Resolved, type: number, id: string, place: SlashPlace): void {
  const { userId, guildId } = place;
  if (type === 7) {
    const channel = world.channel(id);
    if (!channel) throw new Error(`fake Discord: no channel ${id}`);
    // Discord's picker only offers channels of the guild the command is run in.
    if (guildId !== undefined && world.guildIdOf(channel) !== guildId) {
      throw new Error(`fake Discord: channel ${id} is not in guild ${guildId}`);
    }
    (resolved.channels ??= {})[id] = channelPayload(world, channel, userId);
    return;
  }
  const user = world.users.get(id);
  if (!user) throw new Error(`fake Discord: no user ${id}`);
  (resolved.users ??= {})[id] = userPayload(user);
  if (guildId !== undefined && world.member(guildId, id)) {
    const { user: _user, ...member } = memberPayload(world, guildId, id);
    (resolved.members ??= {})[id] = { ...member, permissions: world.guildPermissions(guildId, id).toString() };
  }
}

/** A message context-menu command as the user picks it (Apps › <name> on a message). */
export interface MessageCommandOptions {
  user: { id: string; username: string };
  /** The command's name as registered ("Ask Cairn"). */
  name: string;
  /** The message it is used on. */
  messageId: string;
}

/**
 * The data of a MESSAGE command interaction (Interactions > Application Command Data Structure;
 * Application Commands > Message Commands): `type` 3, `target_id` the message, and the message in
 * `resolved.messages[target_id]` — with its content: a message command is one of Discord's
 * documented alternatives to the Message Content intent (Message Content Intent Alternatives,
 * "Message Commands"). Only a command registered as type 3 with this name, where the command is
 * available (its guild or globally; `contexts` for DMs), is offered by the client.
 */
export function messageCommandData(world: World, opts: MessageCommandOptions, message: StoredMessage, guildId: string | undefined): Record<string, unknown> {
  const here = [...(guildId === undefined ? [] : (world.commands.get(guildId) ?? [])), ...(world.commands.get('') ?? [])];
  const found = here.map((c) => CommandSchema.safeParse(c).data).find((c) => c?.name === opts.name && (c as { type?: unknown }).type === 3);
  if (found === undefined) throw new Error(`fake Discord: no message command "${opts.name}" is registered here`);
  const contexts = found.contexts;
  if (guildId === undefined && (found.dm_permission === false || (contexts !== undefined && contexts !== null && !contexts.includes(1)))) {
    throw new Error(`fake Discord: "${opts.name}" is not available in DMs`);
  }
  if (guildId !== undefined && contexts !== undefined && contexts !== null && !contexts.includes(0)) {
    throw new Error(`fake Discord: "${opts.name}" is not available in servers`);
  }
  return {
    id: found.id,
    name: found.name,
    type: 3,
    target_id: message.id,
    resolved: { messages: { [message.id]: messagePayload(world, message) } },
    ...(found.guild_id === undefined ? {} : { guild_id: found.guild_id }),
  };
}
