/**
 * A worker taking runs from the queue (src/queue/run-queue.ts), at most `concurrency` at once.
 * Delivery is at least once: a worker that stops renewing its lock (it died, or hung longer than
 * CAIRN_QUEUE_LOCK_S) loses its runs to the next stalled check, which puts them back in line for
 * any worker (BullMQ guide, "Stalled Jobs"). The handler therefore resumes from the run's journal
 * rather than starting again, and counts the deaths itself (src/durable/runs.ts: a run that
 * crashes two processes in a row ends), so BullMQ's own stall limit is set out of the way.
 */
import { WaitingError, Worker, type Job } from 'bullmq';
import type { Logger } from '../log.js';
import { closeRedis, connectRedis, type Redis } from './connection.js';
import { RUN_QUEUE, RunJobData } from './run-queue.js';

/** `done`: the run ended (or was already over); `suspended`: a shutdown paused it, and the job goes back in line. */
export type RunJobOutcome = 'done' | 'suspended';

/** Runs the queued run `runId`; `lost` aborts when this worker no longer holds the job (another may have it). */
export type RunJobHandler = (runId: string, lost: AbortSignal) => Promise<RunJobOutcome>;

export interface RunWorkerOptions {
  concurrency: number;
  lockMs: number;
  prefix?: string;
}

/** Stalls BullMQ tolerates before failing a job: far above the two crashes after which a run ends. */
const MAX_STALLS = 1_000;

export class RunWorker {
  private constructor(
    private readonly worker: Worker<RunJobData>,
    private readonly connection: Redis,
  ) {}

  static start(url: string, options: RunWorkerOptions, handler: RunJobHandler, log: Logger): RunWorker {
    const connection = connectRedis(url, 'worker');
    const lostBy = new Map<string, AbortController>();
    const process = async (job: Job<RunJobData>, token?: string): Promise<void> => {
      const { runId } = RunJobData.parse(job.data);
      const lost = new AbortController();
      lostBy.set(runId, lost);
      try {
        const outcome = await handler(runId, lost.signal);
        if (outcome === 'suspended' && !lost.signal.aborted) {
          // Back in line for whichever worker is up next (this one is shutting down).
          await job.moveToWait(token);
          throw new WaitingError();
        }
      } finally {
        lostBy.delete(runId);
      }
    };
    const worker = new Worker<RunJobData>(RUN_QUEUE, process, {
      connection,
      prefix: options.prefix ?? 'cairn',
      concurrency: options.concurrency,
      lockDuration: options.lockMs,
      stalledInterval: options.lockMs,
      maxStalledCount: MAX_STALLS,
      removeOnComplete: { count: 1_000, age: 24 * 3_600 },
      removeOnFail: { count: 1_000, age: 24 * 3_600 },
    });
    // This worker's lock on these runs lapsed: another worker may be running them now, so stop here.
    worker.on('lockRenewalFailed', (jobIds) => {
      for (const id of jobIds) lostBy.get(id)?.abort(new Error('this worker lost the run to another (its lock lapsed)'));
      log.warn({ runIds: jobIds }, 'lost the lock on runs; stopping them here');
    });
    worker.on('error', (error) => {
      log.error({ err: error }, 'the run queue worker failed');
    });
    worker.on('failed', (job, error) => {
      if (job !== undefined) log.error({ err: error, runId: job.id }, 'a queued run failed');
    });
    return new RunWorker(worker, connection);
  }

  /** Waits until the worker is connected and fetching jobs. */
  async ready(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  /** Takes no more runs and waits for the ones under way (a shutdown suspends them first). */
  async close(): Promise<void> {
    await this.worker.close();
    await closeRedis(this.connection);
  }
}
