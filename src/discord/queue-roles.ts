/**
 * The queue's parts a process runs, by its roles (src/queue): a gateway queues runs and passes
 * Cancels and approvals on; a worker takes runs and hears about them. Both roles in one process
 * share one control channel.
 */
import { ControlChannel } from '../queue/control.js';
import { QueuedRuns } from '../queue/queued-runs.js';
import { RunQueue } from '../queue/run-queue.js';
import { RunWorker } from '../queue/run-worker.js';
import type { BotApp } from './context.js';
import { onControlMessage, runQueuedJob } from './queued-jobs.js';

export interface OpenQueue {
  control: ControlChannel;
  worker: RunWorker | null;
  /** Queues a run for any worker (a scheduled run, from the worker its firing landed on). */
  runs: QueuedRuns;
  /**
   * A gateway's start: runs recorded but maybe without a job (queued just before a crash, or left
   * by a deployment without a queue) are queued again (a job's id is its run's: no duplicates).
   * Returns their ids: they are not interrupted, whichever worker has them.
   */
  requeueUnfinished(): Promise<Set<string>>;
  close(): Promise<void>;
}

/** The control channel, opened before the bot's parts so that they can publish; `bot()` is read per message. */
export async function openControl(url: string, bot: () => BotApp | undefined, log: BotApp['log']): Promise<ControlChannel> {
  return ControlChannel.open(
    url,
    (message) => {
      const current = bot();
      if (current !== undefined) onControlMessage(current, message);
    },
    log,
  );
}

export function openQueue(url: string, bot: BotApp, roles: { gateway: boolean; worker: boolean }, control: ControlChannel): OpenQueue {
  const queue = RunQueue.open(url);
  const runs = new QueuedRuns(bot.app.durable, queue, control);
  if (roles.gateway) {
    bot.queue = runs;
    bot.app.metrics.countQueue(() => queue.depth());
  }
  const { config } = bot.app;
  const worker = roles.worker
    ? RunWorker.start(url, { concurrency: config.discord.maxConcurrentRuns, lockMs: config.queue.lockMs }, (runId, lost) => runQueuedJob(bot, runId, lost), bot.log)
    : null;
  return {
    control,
    worker,
    runs,
    requeueUnfinished: async () => {
      const ids = await bot.app.durable.ids();
      for (const id of ids) await queue.add(id);
      return new Set(ids);
    },
    close: async () => {
      runs.stopWatching();
      await queue.close();
      await control.close();
    },
  };
}
