/**
 * Runs a schedule's firings: never two of one schedule at once in a process, at most
 * `maxConcurrentRuns` at once (the rest wait their turn), each journaled when the deps can
 * (src/durable) so that a restart resumes it. With a queue a firing is queued for whichever worker
 * is free, and the worker that takes it goes on with it here (continueRun).
 */
import { createHash } from 'node:crypto';
import { newRunId } from '../agent/agent.js';
import type { RunResult } from '../agent/events.js';
import { RunSuspendedError } from '../agent/journal.js';
import type { Resumable } from '../durable/runs.js';
import type { Logger } from '../log.js';
import { nextRunOf } from './cron.js';
import type { FireReason } from './delivery.js';
import { continueSchedule, executeSchedule, scheduledRequest, scheduleScope, type ExecuteDeps, type Execution, type FailurePolicy, type ScheduleRunSurface } from './execute.js';
import { tellPaused } from './finish.js';
import { recordSkipped } from './skipped.js';
import { RunSlots } from './slots.js';
import type { Schedule, ScheduleStore } from './store.js';

export const BUSY = 'its previous run is still going';

/** `done` resolves to null when the scheduler stopped before the run could start. */
export type FireOutcome = { started: true; done: Promise<Execution | null> } | { started: false; why: string };

/** The deps of every run, less what the runner adds. */
export type RunDeps = Omit<ExecuteDeps, 'store' | 'failures' | 'nextRunAt'>;

/** As the schedule stands when recorded (a run that ended or was skipped moves it on from now). */
export function nextRunFor(schedule: Schedule): number | null {
  return schedule.status === 'active' ? nextRunOf(schedule.cron, schedule.timeZone) : null;
}

/**
 * The run id of a shared clock's firing: the same on every delivery of it, shaped like newRunId
 * (base-36 time, six hex digits). The time is the firing's due time when its key carries one.
 */
export function firingRunId(key: string, now: number): string {
  const due = /:(\d{10,16})$/.exec(key)?.[1];
  const at = due === undefined ? now : Number(due);
  return `${at.toString(36)}-${createHash('sha256').update(key).digest('hex').slice(0, 6)}`;
}

export class ScheduleRunner {
  /** Schedules running or waiting for a run slot. */
  private readonly busy = new Set<string>();
  private readonly executions = new Set<Promise<unknown>>();
  private readonly slots: RunSlots;
  private stopping = false;
  /** Schedules whose journaled run went on here (resumed after a restart): no catch-up for them. */
  readonly continued = new Set<string>();

  constructor(
    private readonly store: ScheduleStore,
    private readonly settings: FailurePolicy & { maxConcurrentRuns: number },
    private readonly run: RunDeps,
    private readonly log: Logger,
    /** Stops the clock firing a schedule (a run paused it). */
    private readonly unset: (scheduleId: string) => Promise<void>,
  ) {
    this.slots = new RunSlots(settings.maxConcurrentRuns);
  }

  /** Takes firings again (a start after a stop). */
  open(): void {
    this.stopping = false;
  }

  /** Takes no more firings; those waiting for a slot wake without one and do not run. */
  stop(): void {
    this.stopping = true;
    this.slots.close();
  }

  /** Resolves when every firing started so far has finished and been recorded. */
  async settled(): Promise<void> {
    while (this.executions.size > 0) await Promise.allSettled([...this.executions]);
  }

  /**
   * Starts a run of a schedule unless it is already running (no overlap). Cron firings and
   * catch-ups also skip paused schedules and backoff periods; a person asking (`manual`) does not
   * wait for those.
   */
  async fire(id: string, reason: FireReason, firingKey?: string): Promise<FireOutcome> {
    if (this.stopping) return { started: false, why: 'Cairn is shutting down' };
    const schedule = await this.store.get(id);
    if (schedule === undefined) return { started: false, why: `there is no schedule ${id}` };
    if (this.busy.has(id)) return { started: false, why: BUSY };
    if (reason !== 'manual' && schedule.status !== 'active') return { started: false, why: 'it is paused' };
    if (reason !== 'manual' && schedule.backoffUntil !== null && schedule.backoffUntil > this.run.now()) {
      return { started: false, why: `it is backing off after ${schedule.consecutiveFailures} failure(s) until ${new Date(schedule.backoffUntil).toISOString()}` };
    }
    // A person asking passed the allow-lists themselves; the clock asks on the creator's behalf.
    if (reason !== 'manual' && (await this.lostStanding(schedule))) return { started: false, why: 'its creator may no longer use Cairn there' };
    const refused = this.run.refusal?.(schedule) ?? null;
    if (refused !== null) {
      // A spent budget skips the firing, on the record; a person asking (`manual`) is told instead.
      if (reason !== 'manual') await this.recordSkipped(schedule, refused);
      return { started: false, why: refused };
    }
    const enqueue = this.run.enqueue;
    const done = this.track(id, enqueue === undefined ? this.runWhenFree(schedule, reason) : this.enqueueFiring(schedule, reason, enqueue, firingKey));
    return { started: true, done };
  }

  /**
   * A schedule's journaled run going on here: resumed after a restart or a worker's death, or
   * started by the worker that took it from the queue. Settles with its result (undefined when it
   * did not run: its schedule is gone, or its budget spent); rejects with RunSuspendedError when a
   * shutdown stopped it (it goes on at the next start).
   */
  async continueRun(resumable: Resumable, surface: ScheduleRunSurface): Promise<RunResult | undefined> {
    this.continued.add(surface.scheduleId);
    const execution = await this.track(surface.scheduleId, this.continueWhenFree(resumable, surface));
    return execution?.result;
  }

  /** Marks the schedule running (no overlap in this process) until `work` settles, which `settled()` waits for. */
  private track<T>(scheduleId: string, work: Promise<T>): Promise<T> {
    this.busy.add(scheduleId);
    const done = work.finally(() => this.busy.delete(scheduleId));
    this.executions.add(done);
    void done.finally(() => this.executions.delete(done)).catch(() => undefined);
    return done;
  }

  private deps(): ExecuteDeps {
    return { ...this.run, store: this.store, failures: this.settings, nextRunAt: nextRunFor };
  }

  /**
   * With a queue: the run is recorded and queued for whichever worker is free (which goes on with
   * it through continueRun), unless the schedule's last run is still unfinished somewhere.
   */
  private async enqueueFiring(schedule: Schedule, reason: FireReason, enqueue: NonNullable<ExecuteDeps['enqueue']>, firingKey: string | undefined): Promise<Execution | null> {
    const unfinished = (await this.run.durable?.unfinishedOf(scheduleScope(schedule).userId)) ?? [];
    if (unfinished.length > 0) {
      this.log.info({ scheduleId: schedule.id, runIds: unfinished }, `scheduled run skipped: ${BUSY}`);
      return null;
    }
    // A firing taken again after its worker died: its run, if it was queued, has this id.
    const runId = firingKey === undefined ? newRunId() : firingRunId(firingKey, this.run.now());
    if (firingKey !== undefined && (await this.run.ranBefore?.(runId)) === true) {
      this.log.info({ scheduleId: schedule.id, runId }, 'a firing taken again had queued its run already');
      return null;
    }
    const request = await scheduledRequest(this.deps(), schedule, runId, null);
    await enqueue(request, { kind: 'schedule', scheduleId: schedule.id, reason });
    return null;
  }

  private async continueWhenFree(resumable: Resumable, surface: ScheduleRunSurface): Promise<Execution | null> {
    const { runId } = resumable.run;
    const durable = this.run.durable;
    if (durable === undefined) throw new Error(`scheduled run ${runId} cannot go on: this scheduler does not journal runs`);
    // Stopping while it waited: it stays recorded for the next start (or the next worker).
    if (!(await this.acquireSlot(surface.scheduleId))) throw new RunSuspendedError(runId);
    try {
      const schedule = await this.store.get(surface.scheduleId);
      if (schedule === undefined) {
        this.log.info({ scheduleId: surface.scheduleId, runId }, 'a scheduled run was not continued: its schedule was removed');
        await this.abandon(runId, 'its schedule was removed before it could go on');
        return null;
      }
      if (await this.lostStanding(schedule)) {
        await this.abandon(runId, 'its schedule\'s creator may no longer use Cairn there');
        return null;
      }
      const hold = this.run.hold?.(schedule) ?? null;
      if (typeof hold === 'string') {
        await this.recordSkipped(schedule, hold);
        await this.abandon(runId, `it could not go on: ${hold}`);
        return null;
      }
      const execution = await continueSchedule({ ...this.deps(), durable }, schedule, resumable, surface.reason, new AbortController(), hold);
      if (execution.pausedReason !== null) await this.unset(schedule.id);
      return execution;
    } finally {
      this.slots.release();
    }
  }

  private async runWhenFree(schedule: Schedule, reason: FireReason): Promise<Execution | null> {
    if (!(await this.acquireSlot(schedule.id))) return null;
    try {
      // Read again: it may have been removed, paused or backed off while it waited.
      const current = await this.store.get(schedule.id);
      if (current === undefined || this.stopping) return null;
      if (reason !== 'manual' && (current.status !== 'active' || (current.backoffUntil ?? 0) > this.run.now())) return null;
      const hold = this.run.hold?.(current) ?? null;
      if (typeof hold === 'string') {
        await this.recordSkipped(current, hold);
        return null;
      }
      const execution = await executeSchedule(this.deps(), current, reason, new AbortController(), hold);
      if (execution.pausedReason !== null) await this.unset(schedule.id);
      return execution;
    } catch (error) {
      // Suspended by a shutdown: journaled, it goes on at the next start.
      if (error instanceof RunSuspendedError) return null;
      throw error;
    } finally {
      this.slots.release();
    }
  }

  /** A run that will not go on: its record ends, and a run that had started is marked interrupted, with why. */
  private async abandon(runId: string, reason: string): Promise<void> {
    await this.run.durable?.abandon(runId);
    await this.run.markInterrupted?.(runId, reason).catch((error: unknown) => {
      this.log.warn({ err: error, runId }, 'could not mark a scheduled run interrupted');
    });
  }

  /**
   * Whether the schedule's creator lost the right to run it where it posts: if so it is paused
   * (everywhere: the clock is unset), with why, and its creator told.
   */
  private async lostStanding(schedule: Schedule): Promise<boolean> {
    const refused = (await this.run.standing?.(schedule)) ?? null;
    if (refused === null) return false;
    const reason = `its creator may no longer use Cairn there (${refused.replace(/\.$/, '')})`;
    this.log.info({ scheduleId: schedule.id, refused }, 'schedule paused: its creator may no longer use Cairn there');
    const paused = await this.store.update(schedule.id, () => ({ status: 'paused', pausedReason: reason, nextRunAt: null }));
    await this.unset(schedule.id);
    if (paused !== undefined) await tellPaused(this.run, schedule, reason);
    return true;
  }

  /** True with a slot; false when the scheduler stopped while this firing waited. */
  private acquireSlot(scheduleId: string): Promise<boolean> {
    return this.slots.acquire(() => {
      this.log.info({ scheduleId }, 'waiting for a free scheduled-run slot');
    });
  }

  private async recordSkipped(schedule: Schedule, why: string): Promise<void> {
    await recordSkipped(this.deps(), schedule, why).catch((error: unknown) => {
      this.log.warn({ err: error, scheduleId: schedule.id }, 'could not record a skipped firing');
    });
  }
}
