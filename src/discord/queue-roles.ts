/**
 * The queue's parts a process runs, by its roles (src/queue): a gateway queues runs and passes
 * Cancels and approvals on; a worker takes runs and hears about them. Both roles in one process
 * share one control channel.
 */
import { ControlChannel } from '../queue/control.js';
import { QueuedRuns } from '../queue/queued-runs.js';
import { RunQueue } from '../queue/run-queue.js';
import { ReflectionJobs } from '../queue/reflection-jobs.js';
import { RunWorker } from '../queue/run-worker.js';
import type { BotApp } from './context.js';
import { onControlMessage, runQueuedJob } from './queued-jobs.js';

/** Reflections a worker makes at once (each is one model call). */
const REFLECTIONS_AT_ONCE = 2;

export interface OpenQueue {
  control: ControlChannel;
  worker: RunWorker | null;
  /** Queues a run for any worker (a scheduled run, from the worker its firing landed on). */
  runs: QueuedRuns;
  /** A worker starts taking reflection jobs (once it can post the lessons they teach). */
  makeReflections(): void;
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
  // Reflections too are jobs: any process may owe one (a 👎 on the gateway, a failed run on a
  // worker); workers make them, the gateway never calls the model for one.
  const reflections = ReflectionJobs.open(url);
  bot.app.reflector.useQueue((id, dueAt) => reflections.add(id, dueAt), roles.worker);

  return {
    control,
    worker,
    runs,
    makeReflections: () => {
      if (roles.worker) reflections.work(REFLECTIONS_AT_ONCE, (id) => bot.app.reflector.reflectQueued(id), bot.log);
    },
    requeueUnfinished: async () => {
      const ids = await bot.app.durable.ids();
      for (const id of ids) await queue.add(id);
      return new Set(ids);
    },
    close: async () => {
      // A reflection under way stops (it stays owed, and is made later): closing waits for it.
      await bot.app.reflector.close();
      await reflections.close();
      runs.stopWatching();
      await queue.close();
      await control.close();
    },
  };
}
