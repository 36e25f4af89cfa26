/**
 * A worker's side of queued runs (src/queue): a job is a run's id; the run is claimed from its
 * durable record and goes on where it is shown (started, or resumed from its journal when the
 * worker before died), and messages from the gateway (a Cancel, an approval decided) reach it.
 */
import { RunSuspendedError, RunSuspension } from '../agent/journal.js';
import type { ControlMessage } from '../queue/control.js';
import type { RunJobOutcome } from '../queue/run-worker.js';
import type { BotApp } from './context.js';
import { continueRun, UNSHOWABLE } from './continue-run.js';
import { tellAbandoned } from './resume.js';
import { runStanding } from './standing.js';

/** Runs the queued run `runId` here until it ends, or a shutdown suspends it (back in line). */
export async function runQueuedJob(bot: BotApp, runId: string, lost: AbortSignal): Promise<RunJobOutcome> {
  if (!bot.accepting()) return 'suspended';
  const claimed = await bot.app.durable.claim(runId);
  // Ended already: a job delivered again after its run finished.
  if (claimed === undefined) return 'done';
  if ('abandoned' in claimed) {
    await tellAbandoned(bot, claimed.abandoned);
    return 'done';
  }
  // The allow-lists may have changed since it was queued (a redeploy), or the starter's roles.
  const refused = await runStanding(bot, claimed.resumable.run);
  if (refused !== null) {
    await bot.app.durable.abandon(runId);
    const fresh = claimed.resumable.entries.length === 0;
    await tellAbandoned(bot, { run: claimed.resumable.run, reason: refused }, fresh ? 'could not start' : 'could not go on');
    return 'done';
  }
  const done = continueRun(bot, claimed.resumable);
  if (done === undefined) {
    await bot.app.durable.abandon(runId);
    await tellAbandoned(bot, { run: claimed.resumable.run, reason: UNSHOWABLE });
    return 'done';
  }
  // Another worker has the run now: stop here without ending it.
  const onLost = () => {
    bot.runs.get(runId)?.controller.abort(new RunSuspension('another worker took the run over', true));
  };
  lost.addEventListener('abort', onLost, { once: true });
  try {
    await done;
    return 'done';
  } catch (error) {
    // Any other failure has been logged and shown by the run's surface: the job is over.
    return error instanceof RunSuspendedError ? 'suspended' : 'done';
  } finally {
    lost.removeEventListener('abort', onLost);
  }
}

/** A message from another process: a Cancel for a run running here, or an approval a run here waits on. */
export function onControlMessage(bot: BotApp, message: ControlMessage): void {
  if (message.kind === 'cancel') bot.runs.cancel(message.runId, message.reason);
  else {
    bot.approvals.decided(message.token).catch((error: unknown) => {
      bot.log.warn({ err: error }, 'could not read an approval decided elsewhere');
    });
  }
}
