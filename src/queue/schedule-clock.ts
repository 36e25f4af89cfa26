/**
 * The shared clock (with CAIRN_REDIS_URL): each active schedule is a BullMQ job scheduler in
 * Redis, which keeps exactly one delayed job per schedule and adds the next one when a worker
 * takes the current one (BullMQ guide, "Job Schedulers"), so a schedule fires once however many
 * processes run. Written only when a schedule is created, resumed or changed, with `pattern`
 * (never `every`), as BullMQ's tracker advises: upserts in quick succession made duplicate
 * delayed jobs (taskforcesh/bullmq#2988) or lost schedulers (#3085, #3381). Reconciling with the
 * table (a start, the periodic reload) upserts only what differs, one process at a time.
 *
 * Delivery is at least once (a worker that dies mid-firing loses its lock and the job is taken
 * again), so each firing is claimed in Redis by its job id (`SET NX`) before it is handled: a
 * firing delivered twice starts one run. The run itself is queued on the run queue (the scheduler's
 * `enqueue`), journaled, so a worker dying mid-run hands it to another that resumes it.
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import { z } from 'zod';
import type { Logger } from '../log.js';
import { errorMessage } from '../text.js';
import type { FireHandler, ScheduleClock } from '../scheduler/clock.js';
import type { Schedule } from '../scheduler/store.js';
import { closeRedis, connectRedis, type Redis } from './connection.js';

export const SCHEDULE_QUEUE = 'cairn-schedules';
/** Claims of firings are kept a week: far longer than any redelivery comes. */
const CLAIM_TTL_S = 7 * 24 * 3_600;
/** One reconciliation at a time across processes; the lock lapses if its holder dies. */
const RECONCILE_LOCK_MS = 30_000;
const KEEP_ENDED = { count: 200, age: 24 * 3_600 };

/** A firing's claim: being handled, or handled. */
const STARTED = 'started';
const DONE = 'done';

const FiringData = z.object({ scheduleId: z.string().min(1).max(100) });

export interface QueueScheduleClockOptions {
  /** This process runs firings (a worker); a gateway alone only writes schedules. */
  fires: boolean;
  /** Firings run here at once (CAIRN_MAX_SCHEDULED_RUNS); the rest wait for any process. */
  concurrency: number;
  lockMs: number;
  prefix?: string;
}

export class QueueScheduleClock implements ScheduleClock {
  readonly shared = true;
  private readonly queue: Queue;
  private worker: Worker | null = null;
  private workerConnection: Redis | null = null;
  private readonly prefix: string;

  constructor(
    private readonly url: string,
    private readonly options: QueueScheduleClockOptions,
    private readonly log: Logger,
    private readonly connection: Redis = connectRedis(url, 'schedules'),
  ) {
    this.prefix = options.prefix ?? 'cairn';
    this.queue = new Queue(SCHEDULE_QUEUE, { connection, prefix: this.prefix });
  }

  async start(active: readonly Schedule[], fire: FireHandler): Promise<Map<string, string>> {
    const refused = await this.reconcileLocked(active);
    if (this.options.fires && this.worker === null) {
      this.workerConnection = connectRedis(this.url, 'schedules-worker');
      this.worker = new Worker(SCHEDULE_QUEUE, (job) => this.runFiring(job, fire), {
        connection: this.workerConnection,
        prefix: this.prefix,
        concurrency: this.options.concurrency,
        lockDuration: this.options.lockMs,
        stalledInterval: this.options.lockMs,
        removeOnComplete: KEEP_ENDED,
        removeOnFail: KEEP_ENDED,
      });
      this.worker.on('error', (error) => {
        this.log.error({ err: error }, 'the schedule firing worker failed');
      });
    }
    return refused;
  }

  async set(schedule: Schedule): Promise<true | string> {
    try {
      await this.queue.upsertJobScheduler(schedule.id, { pattern: schedule.cron, tz: schedule.timeZone }, { name: 'fire', data: { scheduleId: schedule.id }, opts: { removeOnComplete: KEEP_ENDED, removeOnFail: KEEP_ENDED } });
      return true;
    } catch (error) {
      this.log.error({ err: error, scheduleId: schedule.id }, 'a schedule cannot be written to the shared clock');
      return `its cron expression cannot be scheduled: ${errorMessage(error)}`;
    }
  }

  async unset(id: string): Promise<void> {
    await this.queue.removeJobScheduler(id);
  }

  async reconcile(active: readonly Schedule[]): Promise<void> {
    await this.reconcileLocked(active);
  }

  /** Stops running firings here; the schedules go on firing in the other processes. */
  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.close();
    if (this.workerConnection !== null) await closeRedis(this.workerConnection);
    this.workerConnection = null;
  }

  async close(): Promise<void> {
    await this.stop();
    await this.queue.close();
    await closeRedis(this.connection);
  }

  /**
   * Runs a firing unless another delivery of it has: its job id is claimed first ('started'),
   * and marked 'done' once handled (its run queued, or skipped). A delivery that finds the claim
   * still 'started' follows one that stopped midway (a worker that died, or lost its lock): it
   * handles the firing again, once the other's lease lapses, and the run id, derived from the
   * firing (Firing.key), keeps a run queued already from being queued twice.
   */
  private async runFiring(job: Job, fire: FireHandler): Promise<void> {
    const { scheduleId } = FiringData.parse(job.data);
    const key = job.id ?? '';
    const claim = `${this.prefix}:firing:${key}`;
    const retaken = (await this.connection.set(claim, STARTED, 'EX', CLAIM_TTL_S, 'NX')) !== 'OK';
    if (retaken) {
      if ((await this.connection.get(claim)) !== STARTED) {
        this.log.info({ scheduleId, firing: key }, 'a firing delivered again was not run again');
        return;
      }
      this.log.warn({ scheduleId, firing: key }, 'a firing whose last delivery stopped midway is handled again');
    }
    // The time it was due (BullMQ keeps it as prevMillis); a job added without one is due when added.
    const scheduledAt = typeof job.opts.prevMillis === 'number' ? job.opts.prevMillis : job.timestamp;
    // A schedule never overlaps itself, whichever processes its firings land on: one still running
    // elsewhere holds this lease (renewed while it runs; it lapses if its process dies).
    const busy = `${this.prefix}:schedule-running:${scheduleId}`;
    // This delivery's own: a delivery of the same firing elsewhere (a worker that lost its lock
    // but lives) does not share it, so the two never both go on.
    const lease = `${key}:${randomUUID()}`;
    if (!(await this.takeLease(busy, lease, retaken ? claim : null))) {
      this.log.info({ scheduleId }, 'scheduled run skipped: its previous run is still going');
      await this.connection.set(claim, DONE, 'EX', CLAIM_TTL_S);
      return;
    }
    const renew = setInterval(() => {
      void this.connection.pexpire(busy, this.options.lockMs * 2).catch(() => undefined);
    }, Math.max(250, this.options.lockMs / 2));
    try {
      await fire(scheduleId, { scheduledAt, ...(key === '' ? {} : { key }) });
      await this.connection.set(claim, DONE, 'EX', CLAIM_TTL_S);
    } finally {
      clearInterval(renew);
      // Only our own lease: one that lapsed may be another firing's by now.
      if ((await this.connection.get(busy)) === lease) await this.connection.del(busy);
    }
  }

  /**
   * Takes the schedule's lease. Held by another, it is their run still going (false), unless this
   * is a firing taken again (`claim` given): then the holder may be its dead worker, whose lease
   * lapses within two lock periods, so it waits that long (unless the firing gets done meanwhile);
   * a holder still alive renews it, and finishes the firing itself.
   */
  private async takeLease(busy: string, lease: string, claim: string | null): Promise<boolean> {
    const ttl = this.options.lockMs * 2;
    const until = Date.now() + ttl + this.options.lockMs;
    for (;;) {
      if ((await this.connection.set(busy, lease, 'PX', ttl, 'NX')) === 'OK') return true;
      if (claim === null || (await this.connection.get(claim)) !== STARTED || Date.now() > until) return false;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, Math.max(100, this.options.lockMs / 4))));
    }
  }

  /** Writes what differs between the table and Redis, in one process at a time; returns the schedules refused. */
  private async reconcileLocked(active: readonly Schedule[]): Promise<Map<string, string>> {
    const refused = new Map<string, string>();
    const lock = `${this.prefix}:schedules:reconciling`;
    if ((await this.connection.set(lock, String(process.pid), 'PX', RECONCILE_LOCK_MS, 'NX')) !== 'OK') return refused;
    try {
      const written = new Map((await this.queue.getJobSchedulers(0, -1)).map((s) => [s.id ?? s.key, s]));
      for (const schedule of active) {
        const current = written.get(schedule.id);
        if (current?.pattern === schedule.cron && current.tz === schedule.timeZone) continue;
        const set = await this.set(schedule);
        if (set !== true) refused.set(schedule.id, set);
      }
      const wanted = new Set(active.map((s) => s.id));
      for (const id of written.keys()) if (!wanted.has(id)) await this.unset(id);
    } finally {
      await this.connection.del(lock);
    }
    return refused;
  }
}
