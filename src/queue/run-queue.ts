/**
 * The queue of runs (BullMQ, in the Redis CAIRN_REDIS_URL names): a gateway adds a job per run
 * it accepted, and any worker takes it (src/queue/run-worker.ts). The job carries only the run's
 * id; what the run was asked and where it is shown are in its durable record (src/durable), so a
 * job delivered again (a worker died) resumes the run from its journal.
 */
import { Queue } from 'bullmq';
import { z } from 'zod';
import { closeRedis, connectRedis, type Redis } from './connection.js';

export const RUN_QUEUE = 'cairn-runs';
/** Jobs kept after they end (for inspecting a deployment), by count and age: the queue stays small. */
const KEEP_ENDED = { count: 1_000, age: 24 * 3_600 };

export const RunJobData = z.object({ runId: z.string().min(1).max(200) });
export type RunJobData = z.output<typeof RunJobData>;

/** How many runs wait, run, or wait for a retry, and how long the oldest waiting one has (for /metrics). */
export interface QueueDepth {
  waiting: number;
  active: number;
  delayed: number;
  /** When the oldest waiting job was added (ms since the epoch); null when none waits. */
  oldestWaitingSince: number | null;
}

export class RunQueue {
  private readonly queue: Queue<RunJobData>;

  private constructor(
    private readonly connection: Redis,
    prefix: string,
  ) {
    this.queue = new Queue<RunJobData>(RUN_QUEUE, { connection, prefix });
  }

  /** `prefix` keeps deployments (or tests) sharing one Redis apart. */
  static open(url: string, prefix = 'cairn'): RunQueue {
    return new RunQueue(connectRedis(url, 'queue'), prefix);
  }

  /** Adds a run; its id is the job's, so adding the same run twice adds one job. */
  async add(runId: string): Promise<void> {
    await this.queue.add('run', { runId }, { jobId: runId, attempts: 1, removeOnComplete: KEEP_ENDED, removeOnFail: KEEP_ENDED });
  }

  /**
   * A waiting run's place in line (1: the next to start); null when it is not waiting (started,
   * ended, unknown). Jobs are pushed on the left of the wait list and taken from the right.
   */
  async place(runId: string): Promise<number | null> {
    const key = this.queue.toKey('wait');
    const [index, length] = await Promise.all([this.connection.lpos(key, runId), this.connection.llen(key)]);
    return index === null ? null : length - index;
  }

  /**
   * The places of the runs waiting (1: next), read in one go: the first `limit` of the line. A
   * gateway shows every waiting run its place from one read, not one per run.
   */
  async places(limit = 10_000): Promise<Map<string, number>> {
    const key = this.queue.toKey('wait');
    const length = await this.connection.llen(key);
    // The right end is next: read the `limit` nearest it.
    const ids = await this.connection.lrange(key, Math.max(0, length - limit), -1);
    const places = new Map<string, number>();
    ids.forEach((id, index) => places.set(id, ids.length - index));
    return places;
  }

  /** Removes a run that has not started (a cancel before a worker took it); false when it had started or ended. */
  async removeWaiting(runId: string): Promise<boolean> {
    const job = await this.queue.getJob(runId);
    if (job === undefined) return false;
    const state = await job.getState();
    if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return false;
    return (await this.queue.remove(runId)) === 1;
  }

  async depth(): Promise<QueueDepth> {
    const counts = await this.queue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
    const oldest = await this.queue.getJobs(['wait'], -1, -1);
    const since = oldest[0]?.timestamp;
    return { waiting: (counts.wait ?? 0) + (counts.prioritized ?? 0), active: counts.active ?? 0, delayed: counts.delayed ?? 0, oldestWaitingSince: since ?? null };
  }

  async close(): Promise<void> {
    await this.queue.close();
    await closeRedis(this.connection);
  }
}
