import { GuildMember, PermissionFlagsBits, type Client, type Interaction, type Message, type PartialUser, type User } from 'discord.js';
import type { App } from '../app.js';
import type { Logger } from '../log.js';
import type { AccessPolicy, Caller, RunLimiter, RunTicket } from './access.js';
import type { QueuedStart } from './run-line.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { ConversationPolicy } from '../conversations/types.js';
import type { PendingApprovals } from './approvals.js';
import type { RunRegistry } from './runs.js';
import type { QueuedRuns } from '../queue/queued-runs.js';
import type { AgentMode } from '../agent/events.js';
import { runOptionsFor, type SettingsRunOptions } from '../settings/run-options.js';
import type { SettingsWhere } from '../settings/types.js';

/** What commands and handlers get: the app's services plus the bot's own. */
export interface BotApp {
  app: App;
  client: Client;
  log: Logger;
  access: AccessPolicy;
  limiter: RunLimiter;
  runs: RunRegistry;
  /** Tool calls waiting for their starter's Approve/Deny. */
  approvals: PendingApprovals;
  /** Schedules: managed by /schedule, fired by cron once the bot is connected. */
  scheduler: Scheduler;
  /** False once shutdown has begun: no new runs are taken. */
  accepting(): boolean;
  /** How long an interaction token is used before switching to channel messages (Discord: 15 min). */
  tokenLifetimeMs: number;
  /** Per place: whether mentions are answered and whether they open threads (the environment, or /config). */
  conversationPolicy: ConversationPolicy;
  /** With CAIRN_REDIS_URL: runs are queued for workers (src/queue) instead of run here. */
  queue?: QueuedRuns;
}

/** Interaction tokens die after 15 minutes; stop using them a little before. */
export const TOKEN_LIFETIME_MS = 14 * 60_000;

function rolesOf(member: Interaction['member'] | Message['member']): string[] {
  if (member instanceof GuildMember) return [...member.roles.cache.keys()];
  if (member !== null && Array.isArray(member.roles)) return member.roles;
  return [];
}

/** The caller of an interaction, as access control sees them. */
export function callerOfInteraction(interaction: Interaction): Caller {
  const channel = interaction.channel;
  return {
    userId: interaction.user.id,
    roleIds: rolesOf(interaction.member),
    channelId: (channel?.isThread() === true ? channel.parentId : null) ?? interaction.channelId ?? '',
    guildId: interaction.guildId,
    inGuild: interaction.inGuild(),
    canManageGuild: interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild) ?? false,
  };
}

/** The caller behind a message: its author, or `reactor`, someone reacting to it. */
export function callerOfMessage(message: Message, reactor?: User | PartialUser): Caller {
  const channel = message.channel;
  const member = reactor === undefined ? message.member : (message.guild?.members.cache.get(reactor.id) ?? null);
  return {
    userId: reactor?.id ?? message.author.id,
    roleIds: rolesOf(member),
    channelId: (channel.isThread() ? channel.parentId : null) ?? message.channelId,
    guildId: message.guildId,
    inGuild: message.inGuild(),
    canManageGuild: member?.permissions.has(PermissionFlagsBits.ManageGuild) ?? false,
  };
}

/**
 * Reserves a run slot and a share of the caller's daily budget (and their server's), or says why a new run may not
 * start now (shutdown, rate and budget limits). The caller has passed `gate` (the allow-lists)
 * already: the router does it for every interaction, the message handler for every message.
 * The ticket must be finished.
 */
export function reserveRun(bot: BotApp, caller: Caller): RunTicket | string | QueuedStart<RunTicket> {
  if (!bot.accepting()) return 'Cairn is restarting and is not taking new runs. Try again in a minute.';
  // In a server the run is held to the server's budget too; its 80% notice goes to this channel.
  return bot.limiter.tryStart(caller.userId, bot.app.agent.defaultLimits.maxCostUsd, { guildId: caller.guildId, channelId: caller.channelId === '' ? null : caller.channelId });
}

/**
 * Why a run may not be queued now (shutdown, rate and budget limits), or null. A queued run holds
 * no slot or budget here: the worker that takes it holds its share of the budgets while it runs.
 */
export function reserveQueuedRun(bot: BotApp, caller: Caller): string | null {
  if (!bot.accepting()) return 'Cairn is restarting and is not taking new runs. Try again in a minute.';
  return bot.limiter.admit(caller.userId, { guildId: caller.guildId, channelId: caller.channelId === '' ? null : caller.channelId });
}

/**
 * What the settings of the place (server → channel → thread, /config) change in a run started
 * there: instructions, model, mode (when `chosenMode` is undefined), step limit, tools, approvals.
 */
export function runSettings(bot: BotApp, where: SettingsWhere, chosenMode?: AgentMode): SettingsRunOptions {
  return runOptionsFor(bot.app.settings, bot.app.models, where, chosenMode);
}

/** Why the caller may not use a command, button, modal or reaction here now (allow-lists, rate), or null. */
export function gate(bot: BotApp, caller: Caller): string | null {
  return bot.access.refusal(caller) ?? bot.limiter.command(caller.userId);
}
