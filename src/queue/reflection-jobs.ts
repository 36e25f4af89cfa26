/**
 * Reflections as BullMQ jobs (with CAIRN_REDIS_URL): the process that records a reflection owed (a
 * gateway hearing a 👎, a worker whose run failed) adds a job due when the reflection is, and a
 * worker makes it. The `reflections` table stays the record (comment, attempts, result): a job only
 * says "this one may be due now", so a job delivered twice, late or for a time since moved is
 * harmless — the worker claims the row (a lease) and skips one that is done, leased or not yet due.
 */
import { Queue, Worker, type Job } from 'bullmq';
import { z } from 'zod';
import type { Logger } from '../log.js';
import { closeRedis, connectRedis, type Redis } from './connection.js';

export const REFLECTION_QUEUE = 'cairn-reflections';
const KEEP_ENDED = { count: 1_000, age: 24 * 3_600 };
/** A reflection is one model call (with one corrective retry): far below this, even on a slow local model. */
const LOCK_MS = 5 * 60_000;

const ReflectionJobData = z.object({ reflectionId: z.string().min(1).max(500) });

/** Makes the reflection `reflectionId` if it is due and unclaimed (Reflector.reflectQueued). */
export type ReflectionJobHandler = (reflectionId: string) => Promise<void>;

export class ReflectionJobs {
  private readonly queue: Queue;
  private worker: Worker | null = null;
  private workerConnection: Redis | null = null;

  private constructor(
    private readonly url: string,
    private readonly connection: Redis,
    private readonly prefix: string,
  ) {
    this.queue = new Queue(REFLECTION_QUEUE, { connection, prefix });
  }

  static open(url: string, prefix = 'cairn'): ReflectionJobs {
    return new ReflectionJobs(url, connectRedis(url, 'reflections'), prefix);
  }

  /**
   * A job for the reflection, due at `dueAt`. Its id is the reflection's and the due time (BullMQ
   * refuses ':' in custom ids, so the reflection id is encoded): the same request twice adds one job.
   */
  async add(reflectionId: string, dueAt: number, now = Date.now()): Promise<void> {
    const jobId = `${Buffer.from(reflectionId).toString('base64url')}.${dueAt}`;
    await this.queue.add('reflect', { reflectionId }, { jobId, delay: Math.max(0, dueAt - now), attempts: 1, removeOnComplete: KEEP_ENDED, removeOnFail: KEEP_ENDED });
  }

  /** Makes reflections here, `concurrency` at once. */
  work(concurrency: number, handler: ReflectionJobHandler, log: Logger): void {
    if (this.worker !== null) return;
    this.workerConnection = connectRedis(this.url, 'reflection worker');
    this.worker = new Worker(
      REFLECTION_QUEUE,
      async (job: Job) => {
        await handler(ReflectionJobData.parse(job.data).reflectionId);
      },
      { connection: this.workerConnection, prefix: this.prefix, concurrency, lockDuration: LOCK_MS, removeOnComplete: KEEP_ENDED, removeOnFail: KEEP_ENDED },
    );
    this.worker.on('error', (error) => {
      log.error({ err: error }, 'the reflection queue worker failed');
    });
    this.worker.on('failed', (job, error) => {
      if (job !== undefined) log.warn({ err: error, job: job.id }, 'a reflection job failed; the 30 s sweep takes the reflection up again');
    });
  }

  /** Jobs waiting or delayed (for tests and metrics). */
  async pending(): Promise<number> {
    return this.queue.getJobCountByTypes('waiting', 'delayed', 'active');
  }

  /** Stops taking jobs (the one under way finishes), then lets go of Redis. */
  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
    if (this.workerConnection !== null) await closeRedis(this.workerConnection);
    await closeRedis(this.connection);
  }
}
