import { rm } from 'node:fs/promises';
import type { Logger } from '../log.js';
import { sqlString } from '../memory/schema.js';
import { checkSchedule, nextRunOf, ScheduleInputError, storedScheduleProblem } from './cron.js';
import type { FireReason } from './delivery.js';
import type { RunResult } from '../agent/events.js';
import type { Resumable } from '../durable/runs.js';
import type { FailurePolicy, ScheduleRunSurface } from './execute.js';
import { BUSY, nextRunFor, ScheduleRunner, type FireOutcome, type RunDeps } from './runner.js';
import { freshSchedule, newScheduleId, type Schedule, type ScheduleStore } from './store.js';
import type { Firing, ScheduleClock } from './clock.js';
import { LocalScheduleClock } from './local-clock.js';

export type { FireOutcome } from './runner.js';
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

/** A firing this late was missed while down: with catch-up off it is skipped. */
const LATE_MS = 60_000;

/**
 * Runs goals on cron: a clock (node-cron here, or BullMQ job schedulers shared by every process)
 * fires each active schedule in its time zone; a schedule never overlaps itself in a process; at
 * most `maxConcurrentRuns` scheduled runs go at once; runs missed while down get one catch-up run
 * or none. Management (add, pause, …) works whether or not it is started.
 */
export class Scheduler {
  private readonly runner: ScheduleRunner;
  private started = false;
  private stopping = false;
  /** Bumped by start and stop, so work begun before a stop does not arm anything after it. */
  private generation = 0;
  private reloadTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: ScheduleStore,
    private readonly settings: SchedulerSettings,
    private readonly run: RunDeps,
    private readonly log: Logger,
    private readonly clock: ScheduleClock = new LocalScheduleClock(log),
  ) {
    this.runner = new ScheduleRunner(store, settings, run, log, (id) => clock.unset(id));
  }

  /** Loads the schedules, applies the catch-up policy, and starts firing. */
  async start(): Promise<void> {
    this.started = true;
    this.stopping = false;
    this.runner.open();
    const generation = ++this.generation;
    const now = this.run.now();
    const active = await this.store.list(`status = 'active'`);
    if (generation !== this.generation) return;
    const refused = await this.clock.start(active, (id, firing) => this.onFiring(id, firing));
    for (const [id, reason] of refused) await this.pauseUnschedulable(id, reason);
    // A shared clock keeps firings missed while every process was down: they come late, once. A
    // schedule whose run was resumed after the restart has its missed firing: that run (which may
    // have finished already, after `active` was read).
    const catchUps = this.clock.shared ? [] : active.filter((s) => !refused.has(s.id) && !this.runner.continued.has(s.id));
    for (const schedule of catchUps) {
      if (generation !== this.generation) return;
      const missed = schedule.nextRunAt !== null && schedule.nextRunAt < now - 1_000;
      await this.store.update(schedule.id, (current) => ({ nextRunAt: nextRunFor(current) }));
      if (!missed) continue;
      if (this.settings.catchUp === 'none') {
        this.log.info({ scheduleId: schedule.id, missedAt: schedule.nextRunAt }, 'run missed while down; catch-up is off');
        continue;
      }
      this.log.info({ scheduleId: schedule.id, missedAt: schedule.nextRunAt }, 'run missed while down; catching up once');
      await this.fire(schedule.id, 'catch-up');
    }
    this.runner.continued.clear();
    if (generation !== this.generation) return;
    this.reloadTimer = setInterval(() => {
      void this.reconcile().catch((error: unknown) => {
        this.log.error({ err: error }, 'reloading schedules failed');
      });
    }, this.settings.reloadIntervalMs);
    this.reloadTimer.unref();
    this.log.info({ schedules: active.length - refused.size, shared: this.clock.shared }, 'scheduler started');
  }

  /** A firing from the clock: the run, or why not (logged; next_run_at moved on). */
  private async onFiring(id: string, firing: Firing): Promise<void> {
    const late = firing.scheduledAt < this.run.now() - LATE_MS;
    if (late && this.settings.catchUp === 'none') {
      this.log.info({ scheduleId: id, missedAt: firing.scheduledAt }, 'run missed while down; catch-up is off');
      await this.moveNextRun(id);
      return;
    }
    // next_run_at is written when the run is recorded; one left in the past by a crash mid-run
    // means that run is caught up after the restart. A skipped firing moves it on.
    const outcome = await this.fire(id, late ? 'catch-up' : 'cron', firing.key);
    if (outcome.started) {
      await outcome.done;
      return;
    }
    this.log.info({ scheduleId: id, why: outcome.why }, 'scheduled run skipped');
    if (outcome.why !== BUSY) await this.moveNextRun(id);
  }

  private async moveNextRun(id: string): Promise<void> {
    await this.store.update(id, (current) => ({ nextRunAt: nextRunFor(current) }));
  }

  /** A stored expression the clock no longer takes: the schedule is paused, with why. */
  private async pauseUnschedulable(id: string, pausedReason: string): Promise<void> {
    await this.store.update(id, () => ({ status: 'paused', pausedReason, nextRunAt: null })).catch((error: unknown) => {
      this.log.warn({ err: error, scheduleId: id }, 'could not pause a schedule that cannot be armed');
    });
  }

  /** Stops firing; runs in progress go on (the surface drains or cancels them). */
  stop(): void {
    this.started = false;
    this.stopping = true;
    this.generation += 1;
    clearInterval(this.reloadTimer);
    void this.clock.stop().catch((error: unknown) => {
      this.log.warn({ err: error }, 'could not stop the schedule clock cleanly');
    });
    // Waiting firings wake without a slot and do not run.
    this.runner.stop();
  }

  /** Stops, and lets go of the clock (a shared clock's connections). */
  async close(): Promise<void> {
    this.stop();
    await this.clock.close();
  }

  /** Resolves when every firing started so far has finished and been recorded. */
  async settled(): Promise<void> {
    await this.runner.settled();
  }

  /**
   * Starts a run of a schedule unless it is already running (no overlap). Cron firings and
   * catch-ups also skip paused schedules and backoff periods; a person asking (`manual`) does not
   * wait for those.
   */
  fire(id: string, reason: FireReason, firingKey?: string): Promise<FireOutcome> {
    return this.runner.fire(id, reason, firingKey);
  }

  /** A schedule's journaled run going on here (after a restart, or taken from the queue): see ScheduleRunner.continueRun. */
  continueRun(resumable: Resumable, surface: ScheduleRunSurface): Promise<RunResult | undefined> {
    return this.runner.continueRun(resumable, surface);
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
    await this.arm(schedule);
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
    await this.clock.unset(id);
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
    await this.clock.unset(id);
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
    if (resumed !== undefined) await this.arm(resumed);
    return resumed;
  }

  /** Picks up schedules added, removed, paused or changed elsewhere (the terminal). */
  async reconcile(): Promise<void> {
    if (!this.started) return;
    const generation = this.generation;
    const active = await this.store.list(`status = 'active'`);
    // Stopped (or restarted) while reading: arming now would outlive the stop.
    if (generation !== this.generation) return;
    await this.clock.reconcile(active);
  }

  /** Fires the schedule from now on (added, resumed); one the clock refuses is paused, with why. */
  private async arm(schedule: Schedule): Promise<void> {
    if (this.stopping) return;
    const armed = await this.clock.set(schedule);
    if (armed !== true) await this.pauseUnschedulable(schedule.id, armed);
  }
}
