/**
 * Application-level routes: gateway discovery, the bot user and application, command
 * registration (validated like Discord does), and read-only guild lookups.
 */
import { z } from 'zod';
import type { Ctx } from './context.js';
import { DiscordError, invalidForm, missingAccess, unknownUser, type FieldError } from './errors.js';
import type { Reply, Route } from './http.js';
import { guildCreatePayload } from './guild.js';
import { channelPayload, memberPayload, userPayload } from './payloads.js';
import { parseOrInvalidForm } from './rules.js';

interface OptionBody {
  type: number;
  name: string;
  description: string;
  required?: boolean | undefined;
  choices?: unknown[] | undefined;
  options?: OptionBody[] | undefined;
}
const OptionSchema: z.ZodType<OptionBody> = z.lazy(() =>
  z.looseObject({
    type: z.number().int().min(1).max(11),
    name: z.string(),
    description: z.string(),
    required: z.boolean().optional(),
    choices: z.array(z.unknown()).optional(),
    options: z.array(OptionSchema).optional(),
  }),
);
const CommandSchema = z.looseObject({
  name: z.string(),
  description: z.string().optional(),
  // 1 CHAT_INPUT, 2 USER, 3 MESSAGE (4 PRIMARY_ENTRY_POINT is not modelled).
  type: z.number().int().min(1).max(3).optional(),
  options: z.array(OptionSchema).optional(),
});
const CommandsSchema = z.array(CommandSchema);

const NAME = /^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

function optionErrors(options: OptionBody[], path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (options.length > 25) errors.push({ path, code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' });
  let optionalSeen = false;
  options.forEach((option, i) => {
    const here = `${path}.${i}`;
    if (!NAME.test(option.name) || option.name !== option.name.toLowerCase()) {
      errors.push({ path: `${here}.name`, code: 'APPLICATION_COMMAND_INVALID_NAME', message: 'Command name is invalid' });
    }
    if (option.description.length < 1 || option.description.length > 100) {
      errors.push({ path: `${here}.description`, code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 100 in length.' });
    }
    if ((option.choices?.length ?? 0) > 25) {
      errors.push({ path: `${here}.choices`, code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' });
    }
    if (option.type !== 1 && option.type !== 2) {
      if (option.required === true && optionalSeen) {
        errors.push({ path: `${here}.required`, code: 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID', message: 'Required options must be placed before non-required options' });
      }
      if (option.required !== true) optionalSeen = true;
    }
    if (option.options) errors.push(...optionErrors(option.options, `${here}.options`));
  });
  return errors;
}

/** PUT replaces the whole set; ids survive for commands that keep their name. */
function registerCommands(ctx: Ctx, scope: string, body: unknown): Reply {
  const commands = parseOrInvalidForm(CommandsSchema, body);
  const errors: FieldError[] = [];
  if (commands.length > 100) errors.push({ path: '_root', code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 100 or fewer in length.' });
  const names = new Set<string>();
  commands.forEach((command, i) => {
    const chatInput = (command.type ?? 1) === 1;
    // USER (2) and MESSAGE (3) commands: 1–32 characters, any case, spaces allowed; an empty
    // description and no options (Application Commands > Application Command Object, the
    // `name`, `description` and `options` rows; "Message Commands").
    if (!chatInput) {
      if (command.name.length < 1 || command.name.length > 32) errors.push({ path: `${i}.name`, code: 'APPLICATION_COMMAND_INVALID_NAME', message: 'Command name is invalid' });
      if ((command.description ?? '') !== '') errors.push({ path: `${i}.description`, code: 'APPLICATION_COMMAND_INVALID_DESCRIPTION', message: 'Context menu commands cannot have a description' });
      if ((command.options?.length ?? 0) > 0) errors.push({ path: `${i}.options`, code: 'APPLICATION_COMMAND_INVALID_OPTIONS', message: 'Context menu commands cannot have options' });
    } else if (!NAME.test(command.name) || command.name !== command.name.toLowerCase()) {
      errors.push({ path: `${i}.name`, code: 'APPLICATION_COMMAND_INVALID_NAME', message: 'Command name is invalid' });
    }
    if (chatInput && ((command.description?.length ?? 0) < 1 || (command.description?.length ?? 0) > 100)) {
      errors.push({ path: `${i}.description`, code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 100 in length.' });
    }
    if (names.has(`${command.type ?? 1}:${command.name}`)) {
      errors.push({ path: `${i}.name`, code: 'APPLICATION_COMMANDS_DUPLICATE_NAME', message: `Application command names must be unique` });
    }
    names.add(`${command.type ?? 1}:${command.name}`);
    errors.push(...optionErrors(command.options ?? [], `${i}.options`));
  });
  if (errors.length > 0) throw invalidForm(errors);
  const previous = ctx.world.commands.get(scope) ?? [];
  const stored = commands.map((command) => ({
    ...command,
    id: previous.find((p) => p.name === command.name)?.id ?? ctx.world.ids.next(),
    application_id: ctx.world.applicationId,
    version: ctx.world.ids.next(),
    type: command.type ?? 1,
    description: command.description ?? '',
    default_member_permissions: (command as Record<string, unknown>).default_member_permissions ?? null,
    nsfw: false,
    integration_types: [0],
    ...(scope === '' ? {} : { guild_id: scope }),
  }));
  ctx.world.commands.set(scope, stored);
  ctx.world.commandBodies.set(scope, Array.isArray(body) ? structuredClone(body) : []);
  return { status: 200, body: stored };
}

export function appRoutes(ctx: Ctx): Route[] {
  const { world } = ctx;
  const route = (method: string, pattern: string, handler: Route['handler']): Route => ({ method, pattern, auth: 'bot', handler });
  const ownApp = (id: string): void => {
    if (id !== world.applicationId && id !== '@me') throw missingAccess();
  };
  // A guild the bot is not in answers 50001 Missing Access.
  const ownGuild = (id: string): void => {
    if (!world.guild(id)) throw missingAccess();
  };
  const application = {
    id: world.applicationId,
    name: world.bot.username,
    icon: null,
    description: '',
    summary: '',
    type: null,
    bot_public: false,
    bot_require_code_grant: false,
    verify_key: '0'.repeat(64),
    flags: ctx.applicationFlags,
    owner: userPayload(world.users.get(world.ownerId) ?? world.bot),
    team: null,
    bot: userPayload(world.bot),
    integration_types_config: { '0': {} },
  };
  return [
    route('GET', '/gateway/bot', () => ({
      status: 200,
      body: {
        url: ctx.gatewayUrl(),
        shards: ctx.recommendedShards,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
      },
    })),
    { method: 'GET', pattern: '/gateway', auth: 'none', handler: () => ({ status: 200, body: { url: ctx.gatewayUrl() } }) },
    route('GET', '/users/@me', () => ({ status: 200, body: { ...userPayload(world.bot), verified: true, mfa_enabled: false } })),
    route('GET', '/users/:user', (_req, p) => {
      const user = world.users.get(p('user'));
      if (!user) throw unknownUser();
      return { status: 200, body: userPayload(user) };
    }),
    route('GET', '/applications/@me', () => ({ status: 200, body: application })),
    route('GET', '/applications/:app/commands', (_req, p) => {
      ownApp(p('app'));
      return { status: 200, body: world.commands.get('') ?? [] };
    }),
    route('PUT', '/applications/:app/commands', (req, p) => {
      ownApp(p('app'));
      return registerCommands(ctx, '', req.body);
    }),
    route('GET', '/applications/:app/guilds/:guild/commands', (_req, p) => {
      ownApp(p('app'));
      ownGuild(p('guild'));
      return { status: 200, body: world.commands.get(p('guild')) ?? [] };
    }),
    route('PUT', '/applications/:app/guilds/:guild/commands', (req, p) => {
      ownApp(p('app'));
      ownGuild(p('guild'));
      return registerCommands(ctx, p('guild'), req.body);
    }),
    route('GET', '/guilds/:guild', (_req, p) => {
      ownGuild(p('guild'));
      const { channels: _c, members: _m, threads: _t, ...guild } = guildCreatePayload(world, p('guild'));
      return { status: 200, body: guild };
    }),
    route('GET', '/guilds/:guild/channels', (_req, p) => {
      ownGuild(p('guild'));
      // Threads are not listed here (Resources > Guild > Get Guild Channels).
      const texts = world.channelsOf(p('guild')).filter((c) => c.kind === 'text');
      return { status: 200, body: texts.map((c) => channelPayload(world, c)) };
    }),
    route('GET', '/guilds/:guild/members/:user', (_req, p) => {
      ownGuild(p('guild'));
      if (!world.member(p('guild'), p('user'))) throw new DiscordError(404, 10007, 'Unknown Member');
      return { status: 200, body: memberPayload(world, p('guild'), p('user')) };
    }),
  ];
}
