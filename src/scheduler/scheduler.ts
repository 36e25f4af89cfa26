import { rm } from 'node:fs/promises';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../log.js';
import { sqlString } from '../memory/schema.js';
import { checkSchedule, checkStoredSchedule, nextRunOf, ScheduleInputError, storedScheduleProblem } from './cron.js';
import type { FireReason } from './delivery.js';
import { executeSchedule, type ExecuteDeps, type Execution, type FailurePolicy } from './execute.js';
import { recordSkipped } from './skipped.js';
import { freshSchedule, newScheduleId, type Schedule, type ScheduleStore } from './store.js';
import { errorMessage } from '../text.js';

const BUSY = 'its previous run is still going';
/** As /agent's goal option allows. */
const MAX_GOAL_CHARS = 2_000;

export interface SchedulerSettings extends FailurePolicy {
  /** Schedules one server may have. */
  maxSchedules: number;
  /** Scheduled runs at once; further firings wait their turn. */
  maxConcurrentRuns: number;
  /** Runs missed while Cairn was down: one catch-up run per schedule, or none. */
  catchUp: 'one' | 'none';
  minIntervalS: number;
  /** How often the table is re-read, to pick up changes made from the terminal. */
  reloadIntervalMs: number;
}

/** What a person gives when adding a schedule; the rest is Cairn's bookkeeping. */
export type NewSchedule = Pick<Schedule, 'cron' | 'timeZone' | 'goal' | 'mode' | 'guildId' | 'channelId' | 'creatorId' | 'creatorName' | 'notify'>;

/** `done` resolves to null when the scheduler stopped before the run could start. */
export type FireOutcome = { started: true; done: Promise<Execution | null> } | { started: false; why: string };

interface Armed {
  task: ScheduledTask;
  cron: string;
  timeZone: string;
}

/**
 * Runs goals on cron: node-cron drives each active schedule in its time zone; a schedule never
 * overlaps itself; at most `maxConcurrentRuns` scheduled runs go at once; runs missed while down
 * get one catch-up run or none. Management (add, pause, …) works whether or not it is started.
 */
export class Scheduler {
  private readonly armed = new Map<string, Armed>();
  /** Schedules running or waiting for a run slot. */
  private readonly busy = new Set<string>();
  private readonly executions = new Set<Promise<unknown>>();
  private readonly queue: ((granted: boolean) => void)[] = [];
  private active = 0;
  private started = false;
  private stopping = false;
  /** Bumped by start and stop, so work begun before a stop does not arm anything after it. */
  private generation = 0;
  private reloadTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: ScheduleStore,
    private readonly settings: SchedulerSettings,
    private readonly run: Omit<ExecuteDeps, 'store' | 'failures' | 'nextRunAt'>,
    private readonly log: Logger,
  ) {}

  /** Loads the schedules, applies the catch-up policy, and starts firing. */
  async start(): Promise<void> {
    this.started = true;
    this.stopping = false;
    const generation = ++this.generation;
    const now = this.run.now();
    for (const schedule of await this.store.list(`status = 'active'`)) {
      if (generation !== this.generation) return;
      const missed = schedule.nextRunAt !== null && schedule.nextRunAt < now - 1_000;
      if (!this.arm(schedule)) continue;
      await this.store.update(schedule.id, (current) => ({ nextRunAt: this.nextRunAt(current) }));
      if (!missed) continue;
      if (this.settings.catchUp === 'none') {
        this.log.info({ scheduleId: schedule.id, missedAt: schedule.nextRunAt }, 'run missed while down; catch-up is off');
        continue;
      }
      this.log.info({ scheduleId: schedule.id, missedAt: schedule.nextRunAt }, 'run missed while down; catching up once');
      await this.fire(schedule.id, 'catch-up');
    }
    if (generation !== this.generation) return;
    this.reloadTimer = setInterval(() => {
      void this.reconcile().catch((error: unknown) => {
        this.log.error({ err: error }, 'reloading schedules failed');
      });
    }, this.settings.reloadIntervalMs);
    this.reloadTimer.unref();
    this.log.info({ schedules: this.armed.size }, 'scheduler started');
  }

  /** Stops firing; runs in progress go on (the surface drains or cancels them). */
  stop(): void {
    this.started = false;
    this.stopping = true;
    this.generation += 1;
    clearInterval(this.reloadTimer);
    for (const id of [...this.armed.keys()]) this.disarm(id);
    // Waiting firings wake without a slot and do not run.
    for (const wake of this.queue.splice(0)) wake(false);
  }

  /** Resolves when every firing started so far has finished and been recorded. */
  async settled(): Promise<void> {
    while (this.executions.size > 0) await Promise.allSettled([...this.executions]);
  }

  async add(input: NewSchedule): Promise<{ schedule: Schedule; nextRuns: Date[] }> {
    const checked = checkSchedule(input.cron, input.timeZone, this.settings.minIntervalS);
    const goal = input.goal.trim();
    if (goal === '') throw new ScheduleInputError('The goal is empty: say what Cairn should do on each run.');
    if (goal.length > MAX_GOAL_CHARS) throw new ScheduleInputError(`The goal is ${goal.length} characters long; at most ${MAX_GOAL_CHARS} are allowed.`);
    const sameGuild = await this.list(input.guildId);
    if (sameGuild.length >= this.settings.maxSchedules) {
      throw new ScheduleInputError(`This server already has ${sameGuild.length} schedules, the most allowed (CAIRN_MAX_SCHEDULES). Remove one first.`);
    }
    const schedule = freshSchedule({
      ...input,
      id: newScheduleId(),
      goal,
      cron: checked.cron,
      timeZone: checked.timeZone,
      createdAt: this.run.now(),
      nextRunAt: checked.nextRuns[0]?.getTime() ?? null,
    });
    await this.store.add(schedule);
    if (this.started) this.arm(schedule);
    return { schedule, nextRuns: checked.nextRuns };
  }

  async list(guildId: string | null): Promise<Schedule[]> {
    return this.store.list(guildId === null ? undefined : `guild_id = ${sqlString(guildId)}`);
  }

  async get(id: string): Promise<Schedule | undefined> {
    return this.store.get(id);
  }

  /** The schedules a person created, in every server (their runs are that person's runs). */
  async createdBy(userId: string): Promise<Schedule[]> {
    return this.store.list(`creator_id = ${sqlString(userId)}`);
  }

  /** Deletes the schedule, its workspace and its kept reports (its conversation). */
  async remove(id: string): Promise<boolean> {
    this.disarm(id);
    const schedule = await this.store.get(id);
    const removed = await this.store.remove(id);
    if (!removed) return false;
    if (schedule !== undefined && this.run.workspaceFor !== undefined) {
      await rm(this.run.workspaceFor(schedule), { recursive: true, force: true }).catch((error: unknown) => {
        this.log.warn({ err: error, scheduleId: id }, 'could not delete the schedule workspace');
      });
    }
    // The schedule is gone either way; reports a failure here leaves behind are never read again (and are logged).
    await this.run.reports?.forget(id).catch((error: unknown) => {
      this.log.warn({ err: error, scheduleId: id }, 'could not delete the schedule’s kept reports');
    });
    return true;
  }

  async pause(id: string): Promise<Schedule | undefined> {
    this.disarm(id);
    return this.store.update(id, () => ({ status: 'paused', pausedReason: null, nextRunAt: null }));
  }

  /**
   * Resumes a paused schedule with a clean slate: failures, backoff and Cairn's pause reason
   * cleared. A stored expression that fails today's checks stays paused (ScheduleInputError).
   */
  async resume(id: string): Promise<Schedule | undefined> {
    const stored = await this.store.get(id);
    const problem = stored === undefined ? null : storedScheduleProblem(stored.cron, stored.timeZone);
    if (problem !== null) {
      const pausedReason = `its cron expression cannot be scheduled: ${problem}`;
      await this.store.update(id, () => ({ status: 'paused', pausedReason, nextRunAt: null }));
      throw new ScheduleInputError(`Schedule ${id} cannot be resumed: ${pausedReason} Remove it and add it again with a valid expression.`);
    }
    const resumed = await this.store.update(id, (current) => ({
      status: 'active',
      pausedReason: null,
      consecutiveFailures: 0,
      backoffUntil: null,
      nextRunAt: nextRunOf(current.cron, current.timeZone),
    }));
    if (resumed !== undefined && this.started) this.arm(resumed);
    return resumed;
  }

  /**
   * Starts a run of a schedule unless it is already running (no overlap). Cron firings and
   * catch-ups also skip paused schedules and backoff periods; a person asking (`manual`) does not
   * wait for those.
   */
  async fire(id: string, reason: FireReason): Promise<FireOutcome> {
    if (this.stopping) return { started: false, why: 'Cairn is shutting down' };
    const schedule = await this.store.get(id);
    if (schedule === undefined) return { started: false, why: `there is no schedule ${id}` };
    if (this.busy.has(id)) return { started: false, why: BUSY };
    if (reason !== 'manual' && schedule.status !== 'active') return { started: false, why: 'it is paused' };
    if (reason !== 'manual' && schedule.backoffUntil !== null && schedule.backoffUntil > this.run.now()) {
      return { started: false, why: `it is backing off after ${schedule.consecutiveFailures} failure(s) until ${new Date(schedule.backoffUntil).toISOString()}` };
    }
    const refused = this.run.refusal?.(schedule) ?? null;
    if (refused !== null) {
      // A spent budget skips the firing, on the record; a person asking (`manual`) is told instead.
      if (reason !== 'manual') await this.recordSkipped(schedule, refused);
      return { started: false, why: refused };
    }
    this.busy.add(id);
    const done = this.runWhenFree(schedule, reason).finally(() => this.busy.delete(id));
    this.executions.add(done);
    void done.finally(() => this.executions.delete(done)).catch(() => undefined);
    return { started: true, done };
  }

  /** Picks up schedules added, removed, paused or changed elsewhere (the terminal). */
  async reconcile(): Promise<void> {
    if (!this.started) return;
    const generation = this.generation;
    const active = new Map((await this.store.list(`status = 'active'`)).map((s) => [s.id, s]));
    // Stopped (or restarted) while reading: arming now would outlive the stop.
    if (generation !== this.generation) return;
    for (const [id, armed] of this.armed) {
      const schedule = active.get(id);
      if (schedule === undefined || schedule.cron !== armed.cron || schedule.timeZone !== armed.timeZone) this.disarm(id);
    }
    for (const schedule of active.values()) if (!this.armed.has(schedule.id)) this.arm(schedule);
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
      const deps: ExecuteDeps = { ...this.run, store: this.store, failures: this.settings, nextRunAt: (s) => this.nextRunAt(s) };
      const execution = await executeSchedule(deps, current, reason, new AbortController(), hold);
      if (execution.pausedReason !== null) this.disarm(schedule.id);
      return execution;
    } finally {
      this.releaseSlot();
    }
  }

  private async recordSkipped(schedule: Schedule, why: string): Promise<void> {
    await recordSkipped({ ...this.run, store: this.store, nextRunAt: (s) => this.nextRunAt(s) }, schedule, why).catch((error: unknown) => {
      this.log.warn({ err: error, scheduleId: schedule.id }, 'could not record a skipped firing');
    });
  }

  /** True with a slot; false when the scheduler stopped while this firing waited. */
  private async acquireSlot(scheduleId: string): Promise<boolean> {
    if (this.active < this.settings.maxConcurrentRuns) {
      this.active += 1;
      return true;
    }
    this.log.info({ scheduleId }, 'waiting for a free scheduled-run slot');
    // The slot is handed over by releaseSlot, so nothing can take it in between.
    return new Promise<boolean>((resolve) => this.queue.push(resolve));
  }

  private releaseSlot(): void {
    const next = this.queue.shift();
    if (next !== undefined) next(true);
    else this.active -= 1;
  }

  private nextRunAt(schedule: Schedule): number | null {
    if (schedule.status !== 'active') return null;
    return this.armed.get(schedule.id)?.task.getNextRun()?.getTime() ?? nextRunOf(schedule.cron, schedule.timeZone);
  }

  /** node-cron's own messages (e.g. a firing missed while the event loop was blocked) go to our log. */
  private readonly cronLogger = {
    info: (message: string) => { this.log.debug({ source: 'node-cron' }, message); },
    warn: (message: string) => { this.log.warn({ source: 'node-cron' }, message); },
    error: (message: string | Error) => { this.log.error({ source: 'node-cron', err: message }, 'node-cron error'); },
    debug: (message: string | Error) => { this.log.debug({ source: 'node-cron', err: message }, 'node-cron'); },
  };

  /** Starts firing a schedule; a stored expression node-cron no longer takes pauses it (false). */
  private arm(schedule: Schedule): boolean {
    this.disarm(schedule.id);
    let task: ScheduledTask;
    try {
      // The bounded check first: node-cron expands a range before checking it, and searches a
      // century for the next run of an expression that never fires.
      const expression = checkStoredSchedule(schedule.cron, schedule.timeZone);
      task = cron.createTask(
        expression,
        async () => {
          // next_run_at is written when the run is recorded; one left in the past by a crash
          // mid-run means that run is caught up after the restart. A skipped firing moves it on.
          const outcome = await this.fire(schedule.id, 'cron');
          if (outcome.started) return;
          this.log.info({ scheduleId: schedule.id, why: outcome.why }, 'scheduled run skipped');
          if (outcome.why !== BUSY) await this.store.update(schedule.id, (current) => ({ nextRunAt: this.nextRunAt(current) }));
        },
        // A firing delayed by a busy event loop still runs (node-cron drops those over 1 s late by default).
        { timezone: schedule.timeZone, name: `cairn-${schedule.id}`, logger: this.cronLogger, missedExecutionTolerance: 60_000, unref: true },
      );
    } catch (error) {
      const reason = `its cron expression cannot be scheduled: ${errorMessage(error)}`;
      this.log.error({ err: error, scheduleId: schedule.id }, 'pausing a schedule that cannot be armed');
      void this.store.update(schedule.id, () => ({ status: 'paused', pausedReason: reason, nextRunAt: null })).catch(() => undefined);
      return false;
    }
    void task.start();
    this.armed.set(schedule.id, { task, cron: schedule.cron, timeZone: schedule.timeZone });
    return true;
  }

  private disarm(id: string): void {
    const armed = this.armed.get(id);
    if (armed === undefined) return;
    this.armed.delete(id);
    void armed.task.destroy();
  }
}
