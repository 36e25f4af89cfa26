/**
 * At the bot's start: the runs a shutdown or a crash left unfinished (src/durable) go on where
 * they are shown — the status message edited on, a "resumed" line in the thread, approvals and
 * the answer where they would have gone. Those that cannot go on are ended, and their starters
 * told why.
 */
import type { Abandoned } from '../durable/runs.js';
import { continueRun, UNSHOWABLE } from './continue-run.js';
import type { BotApp } from './context.js';
import { explainDiscordError } from './errors.js';
import { sendToChannel } from './send.js';
import { SlashSurface } from './slash-place.js';
import { runStanding, type StandingAnswers } from './standing.js';
import { ScheduleRunSurface } from '../scheduler/execute.js';

/** Resumes what can go on and reports what cannot; returns the ids of the runs resumed. */
export async function resumeRuns(bot: BotApp): Promise<Set<string>> {
  const { resumable, abandoned } = await bot.app.durable.unfinished();
  const resumed = new Set<string>();
  const asked: StandingAnswers = new Map();
  for (const run of resumable) {
    // The allow-lists may have changed with the restart: a starter no longer on them is not resumed.
    const refused = await runStanding(bot, run.run, asked);
    if (refused !== null) {
      abandoned.push({ run: run.run, reason: refused });
      await bot.app.durable.abandon(run.run.runId);
      continue;
    }
    const done = continueRun(bot, run);
    if (done === undefined) {
      abandoned.push({ run: run.run, reason: UNSHOWABLE });
      await bot.app.durable.abandon(run.run.runId);
      continue;
    }
    // Its end is taken by continueRun (cost booked, a failure logged).
    done.catch(() => undefined);
    resumed.add(run.run.runId);
  }
  for (const run of abandoned) await tellAbandoned(bot, run);
  return resumed;
}

/**
 * Tells a run's starter it will not go on: in its channel with a mention, or by DM for a private
 * run. `fate` says what became of it (a queued run a worker would not start "could not start").
 */
export async function tellAbandoned(bot: BotApp, { run, reason }: Abandoned, fate = 'was not resumed after Cairn restarted'): Promise<void> {
  await bot.app.memory.episodes.interrupt(run.runId, reason, Date.now()).catch((error: unknown) => {
    bot.log.warn({ err: error, runId: run.runId }, 'could not mark a run interrupted');
  });
  const scheduled = ScheduleRunSurface.safeParse(run.surface);
  if (scheduled.success) {
    // No one to mention: the schedule's channel is told, and the schedule goes on at its next time.
    const text = `⚠️ Scheduled run \`${run.runId}\` of schedule \`${scheduled.data.scheduleId}\` was not resumed after Cairn restarted. ${reason} The schedule carries on at its next time.`;
    await sendToChannel(bot.client, run.request.scope.channelId ?? '', { content: text, allowedMentions: { parse: [] } }).catch((error: unknown) => {
      bot.log.warn({ err: error, runId: run.runId, reason: explainDiscordError(error) }, 'could not tell a schedule\'s channel its run was not resumed');
    });
    return;
  }
  const surface = SlashSurface.safeParse(run.surface);
  const { userId, channelId } = run.request.scope;
  const privately = run.request.visibility === 'private' || channelId === undefined || (surface.success && surface.data.private);
  const text = `⚠️ ${privately ? 'Your' : `<@${userId}>, your`} run \`${run.runId}\` ${fate}. ${reason}`;
  try {
    if (privately) await (await bot.client.users.fetch(userId)).send(text);
    else await sendToChannel(bot.client, surface.success ? surface.data.channelId : channelId, { content: text, allowedMentions: { users: [userId] } });
  } catch (error) {
    bot.log.warn({ err: error, runId: run.runId, reason: explainDiscordError(error) }, 'could not tell a starter their run was not resumed');
  }
}
