/**
 * Who may see, cancel and rate a run — decided from the stored run (the registry while it runs,
 * its episode after), never from a custom id or the place the caller happens to be.
 */
import type { Caller } from './access.js';
import type { BotApp } from './context.js';

/** A run as access control sees it. */
export interface RunRef {
  runId: string;
  /** The person it belongs to: who started it, or a scheduled run's creator (null if the schedule is gone). */
  ownerId: string | null;
  /** Its server; null for DM runs (no admin reaches those). */
  guildId: string | null;
  /** The channel it was started or reports in. */
  channelId: string | null;
  /** private:true or a DM: its contents are its owner's alone. */
  private: boolean;
  scheduled: boolean;
}

const SCHEDULE_USER = /^schedule-([a-z0-9]+)$/;

/** The run by id, from this process's running runs or the episodes table; undefined when unknown. */
export async function findRun(bot: BotApp, runId: string): Promise<RunRef | undefined> {
  const running = bot.runs.get(runId);
  if (running !== undefined) {
    return { runId, ownerId: running.userId, guildId: running.guildId, channelId: running.channelId, private: running.private, scheduled: running.scheduled };
  }
  // With a queue a worker may have written it a moment ago: then it is read again from the latest version.
  const episode = (await bot.app.memory.episodes.get(runId)) ?? (bot.queue === undefined ? undefined : await bot.app.memory.episodes.get(runId, { fresh: true }));
  if (episode === undefined) return bot.queue === undefined ? undefined : queuedRun(bot, runId);
  const scheduled = episode.trigger === 'schedule';
  const scheduleId = SCHEDULE_USER.exec(episode.scope.userId)?.[1];
  const ownerId = scheduled ? (scheduleId === undefined ? null : ((await bot.scheduler.get(scheduleId))?.creatorId ?? null)) : episode.scope.userId;
  return {
    runId,
    ownerId,
    guildId: episode.scope.guildId ?? null,
    channelId: episode.scope.channelId ?? null,
    private: episode.visibility === 'private' || episode.scope.guildId === undefined,
    scheduled,
  };
}

/** A run queued for a worker (src/queue), maybe not started yet (it has no episode until it starts), from its stored request. */
async function queuedRun(bot: BotApp, runId: string): Promise<RunRef | undefined> {
  const run = await bot.app.durable.find(runId);
  if (run === undefined) return undefined;
  const { scope, visibility, trigger } = run.request;
  return { runId, ownerId: scope.userId, guildId: scope.guildId ?? null, channelId: scope.channelId ?? null, private: visibility === 'private' || scope.guildId === undefined, scheduled: trigger === 'schedule' };
}

/** Its owner; an admin of the run's own server, for runs that are not private. */
export function maySee(bot: BotApp, caller: Caller, run: RunRef): boolean {
  return caller.userId === run.ownerId || (!run.private && bot.access.isAdminOf(caller, run.guildId));
}

/** Its owner; an admin of the run's own server (also a private run there: cancelling shows nothing of it). */
export function mayCancel(bot: BotApp, caller: Caller, run: RunRef): boolean {
  return caller.userId === run.ownerId || bot.access.isAdminOf(caller, run.guildId);
}

/**
 * Whose votes teach (weaken the lessons a run followed, start a reflection, keep its approach):
 * the owner's; for a scheduled report, which is the channel's, anyone's in that channel.
 */
export function voteTeaches(caller: Caller, run: RunRef): boolean {
  if (caller.userId === run.ownerId) return true;
  return run.scheduled && run.guildId !== null && caller.guildId === run.guildId && caller.channelId === run.channelId;
}
