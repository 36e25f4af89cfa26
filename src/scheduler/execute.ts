import { z } from 'zod';
import type { Agent, RunRequest } from '../agent/agent.js';
import { newRunId } from '../agent/agent.js';
import type { RunResult } from '../agent/events.js';
import { StepLog } from '../agent/step-log.js';
import type { Logger } from '../log.js';
import { RunSuspendedError } from '../agent/journal.js';
import type { Deliver, LiveParts, Resumable } from '../durable/runs.js';
import { errorMessage } from '../text.js';
import { renderReports, type PastReport, type ScheduleReports } from '../conversations/schedule-reports.js';
import type { ChangeJudge } from './change.js';
import type { FireReason, ReportDelivery } from './delivery.js';
import { finishScheduledRun } from './finish.js';
import type { Schedule, ScheduleStore } from './store.js';

export interface FailurePolicy {
  /** Consecutive failures (run or delivery) that pause a schedule. */
  maxFailures: number;
  /** First backoff after a failure; it doubles with each further one. */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export interface ExecuteDeps {
  agent: Agent;
  store: ScheduleStore;
  judgeChange: ChangeJudge;
  /** Null from the terminal (`cairn schedule run`): the report is printed, not posted. */
  delivery: ReportDelivery | null;
  failures: FailurePolicy;
  log: Logger;
  now: () => number;
  /** The schedule's next due time, for the record. */
  nextRunAt: (schedule: Schedule) => number | null;
  /**
   * Told when a run starts, so a surface can list, cancel and bill it (e.g. /runs cancel, the daily
   * budget). `durable`: journaled, so a shutdown suspends it (resumed at the next start) rather than cancelling it.
   */
  onRunStarted?: (run: { runId: string; schedule: Schedule; controller: AbortController; done: Promise<RunResult | undefined>; durable: boolean }) => void;
  /** Journals scheduled runs (src/durable), so that a restart or a worker's death resumes them; without it they are not. */
  durable?: DurableScheduledRuns;
  /** Whether a run with this id was ever started or recorded (its episode exists): a firing delivered again does not queue it twice. */
  ranBefore?: (runId: string) => Promise<boolean>;
  /** Ends the record of a run that will not go on (its schedule was removed while it was down, say), with why. */
  markInterrupted?: (runId: string, reason: string) => Promise<void>;
  /**
   * With a queue (src/queue): records the run as queued and adds its job; the worker that takes
   * it goes on with it through Scheduler.continueRun. Without it, firings run where they fire.
   */
  enqueue?: (request: RunRequest & { runId: string }, surface: ScheduleRunSurface) => Promise<unknown>;
  /**
   * Why the schedule's creator may no longer run it where it posts (the allow-lists changed, or
   * their roles, or they left the server), or null. A firing so refused pauses the schedule.
   */
  standing?: (schedule: Schedule) => Promise<string | null>;
  /** Why a schedule may not run now (its creator's or its server's daily budget is spent), or null; a skipped firing is recorded. */
  refusal?: (schedule: Schedule) => string | null;
  /**
   * Holds the run's share of its creator's and its server's daily budgets as it starts (its cost limit), or says
   * why it may not start; the hold is settled with the run's cost when it ends.
   */
  hold?: (schedule: Schedule) => ScheduleHold | string;
  sinks?: Parameters<Agent['run']>[0]['sinks'];
  /** One workspace per schedule, kept between its runs (files it writes are there next time). */
  workspaceFor?: (schedule: Schedule) => string;
  /** The schedule's reports as its conversation: the last few go, in order, into the next run's briefing. */
  reports?: ScheduleReports;
  /** What the settings of the schedule's server and channel change in its runs (instructions, model, tools, …). */
  runOptions?: (schedule: Schedule) => ScheduleRunOptions;
}

/** The part of src/durable's DurableRuns a scheduler uses. */
export interface DurableScheduledRuns {
  run(request: RunRequest & { runId: string }, surface: unknown, deliver: Deliver): Promise<RunResult>;
  resume(resumable: Resumable, live: LiveParts, deliver: Deliver): Promise<RunResult>;
  abandon(runId: string): Promise<void>;
  /** The ids of the unfinished runs acting as `userId` (a schedule's runs act as `schedule-<id>`). */
  unfinishedOf(userId: string): Promise<string[]>;
}

/** What a scheduled run stores as where it is shown (src/durable): its schedule, and why it fired. */
export const ScheduleRunSurface = z.object({
  kind: z.literal('schedule'),
  scheduleId: z.string().min(1).max(100),
  reason: z.enum(['cron', 'manual', 'catch-up']),
});
export type ScheduleRunSurface = z.infer<typeof ScheduleRunSurface>;

/** The settings' share of a scheduled run's request; the schedule keeps its own mode. */
export type ScheduleRunOptions = Pick<RunRequest, 'instructions' | 'model' | 'disabledTools' | 'approvals'> & { limits?: { maxSteps: number } };

/** A scheduled run's share of its creator's daily budget and its server's. */
export interface ScheduleHold {
  capUsd: number;
  finish(costUsd: number | null, runId: string): void;
}

export interface Execution {
  result: RunResult;
  delivered: boolean;
  deliveryError: string | null;
  /** Set when this firing paused the schedule. */
  pausedReason: string | null;
}

/**
 * The schedule's last reports, in order (its conversation), given to the next run so it can say
 * what changed. Without kept reports (a schedule from before they were kept), the last one stored
 * on the schedule.
 */
function briefing(schedule: Schedule, reports: readonly PastReport[]): string {
  const intro = `This is a scheduled run (schedule ${schedule.id}, cron "${schedule.cron}" in ${schedule.timeZone}); your answer is posted as the report.`;
  const fallback = schedule.lastReport === null || schedule.lastReportAt === null ? [] : [{ runId: null, text: schedule.lastReport, at: schedule.lastReportAt }];
  const past = reports.length > 0 ? reports : fallback;
  if (past.length === 0) return `${intro} There is no earlier report.`;
  return [intro, ...renderReports(past), 'Report what is true now. If the finding changed since then, say what changed.'].join('\n');
}

/** The kept reports; a store that fails costs the run its history, never the run. */
async function pastReports(deps: ExecuteDeps, schedule: Schedule): Promise<PastReport[]> {
  try {
    return (await deps.reports?.recent(schedule.id)) ?? [];
  } catch (error) {
    deps.log.warn({ err: error, scheduleId: schedule.id }, 'could not read the schedule’s earlier reports');
    return [];
  }
}

/** The scope scheduled runs act in: the schedule's channel and server, never its creator's private memories. */
export function scheduleScope(schedule: Schedule): { userId: string; userName: string; channelId: string; guildId?: string } {
  return {
    userId: `schedule-${schedule.id}`,
    userName: `schedule ${schedule.id}`,
    channelId: schedule.channelId,
    ...(schedule.guildId === null ? {} : { guildId: schedule.guildId }),
  };
}

/** The schedule a run acted as (its scope's user is `schedule-<id>`), or null for anyone else's run. */
export function scheduleIdOf(scope: { userId: string }): string | null {
  return scope.userId.startsWith('schedule-') ? scope.userId.slice('schedule-'.length) : null;
}

/** A run that could not even start (its workspace could not be made, say) still counts, as a failure. */
function crashedRun(schedule: Schedule, runId: string, startedAt: number, error: unknown): RunResult {
  const at = new Date(startedAt).toISOString();
  return {
    runId,
    goal: schedule.goal,
    mode: schedule.mode,
    status: 'failed',
    answer: null,
    steps: 0,
    maxSteps: 0,
    usage: { promptTokens: 0, completionTokens: 0 },
    costUsd: null,
    toolCalls: { total: 0, succeeded: 0 },
    reason: `the run could not start: ${errorMessage(error)}`,
    startedAt: at,
    endedAt: new Date().toISOString(),
    workspaceDir: '',
  };
}

/** The request of a schedule's run: its goal and mode, the place's settings, its scope and briefing. */
export async function scheduledRequest(deps: ExecuteDeps, schedule: Schedule, runId: string, hold: ScheduleHold | null): Promise<RunRequest & { runId: string }> {
  const past = await pastReports(deps, schedule);
  const { limits: placeLimits, ...placeOptions } = deps.runOptions?.(schedule) ?? {};
  return {
    ...placeOptions,
    goal: schedule.goal,
    mode: schedule.mode,
    runId,
    trigger: 'schedule',
    scope: scheduleScope(schedule),
    visibility: 'channel',
    billedTo: schedule.creatorId,
    briefing: briefing(schedule, past),
    limits: { ...placeLimits, ...(hold === null ? {} : { maxCostUsd: hold.capUsd }) },
    ...(deps.workspaceFor === undefined ? {} : { workspaceDir: deps.workspaceFor(schedule) }),
  };
}

/**
 * One firing of a schedule: an autonomous run in the schedule's scope, then its report
 * (src/scheduler/finish.ts). Journaled when the deps have `durable`: a shutdown suspends it
 * (RunSuspendedError: it goes on at the next start) and a crash leaves it to be resumed.
 */
export async function executeSchedule(deps: ExecuteDeps, schedule: Schedule, reason: FireReason, controller: AbortController, hold: ScheduleHold | null = null): Promise<Execution> {
  const runId = newRunId();
  const steps = new StepLog();
  const startedAt = deps.now();
  const request = { ...(await scheduledRequest(deps, schedule, runId, hold)), signal: controller.signal, sinks: [steps.sink, ...(deps.sinks ?? [])] };
  const surface: ScheduleRunSurface = { kind: 'schedule', scheduleId: schedule.id, reason };
  const durable = deps.durable;
  return settle(deps, schedule, { runId, reason, steps, controller, hold, startedAt, resumed: false }, (deliver) =>
    durable === undefined ? deps.agent.run(request).then(async (result) => { await deliver(result); return result; }) : durable.run(request, surface, deliver),
  );
}

/**
 * Goes on with a schedule's journaled run (a restart, a worker's death) or starts one a worker took
 * from the queue; settles as executeSchedule does.
 */
export async function continueSchedule(deps: ExecuteDeps & { durable: DurableScheduledRuns }, schedule: Schedule, resumable: Resumable, reason: FireReason, controller: AbortController, hold: ScheduleHold | null): Promise<Execution> {
  const steps = new StepLog();
  const live: LiveParts = { signal: controller.signal, sinks: [steps.sink, ...(deps.sinks ?? [])], ...(hold === null ? {} : { limits: { maxCostUsd: hold.capUsd } }) };
  const resumed = resumable.entries.length > 0 || resumable.run.status !== 'queued';
  return settle(deps, schedule, { runId: resumable.run.runId, reason, steps, controller, hold, startedAt: resumable.run.startedAt, resumed }, (deliver) => deps.durable.resume(resumable, live, deliver));
}

interface Running {
  runId: string;
  reason: FireReason;
  steps: StepLog;
  controller: AbortController;
  hold: ScheduleHold | null;
  startedAt: number;
  resumed: boolean;
}

/**
 * Runs `start` (which calls `deliver` with the result before it resolves) and records the end.
 * A run that could not even start counts as a failure; a suspended one is not ended (it rejects
 * with RunSuspendedError and goes on at the next start).
 */
async function settle(deps: ExecuteDeps, schedule: Schedule, running: Running, start: (deliver: Deliver) => Promise<RunResult>): Promise<Execution> {
  const ending: { started: boolean; execution?: Execution } = { started: false };
  const finish = async (result: RunResult) => {
    ending.started = true;
    running.hold?.finish(result.costUsd, result.runId);
    ending.execution = await finishScheduledRun(deps, schedule, { result, steps: running.steps.steps, reason: running.reason, resumed: running.resumed }, running.controller.signal);
  };
  const done = start(finish).then(
    (result) => result,
    async (error: unknown) => {
      if (error instanceof RunSuspendedError) {
        running.hold?.finish(null, running.runId);
        throw error;
      }
      // Its end was being recorded when this failed: not ended twice.
      if (ending.started) throw error;
      deps.log.error({ err: error, scheduleId: schedule.id }, 'a scheduled run could not start');
      const crashed = crashedRun(schedule, running.runId, running.startedAt, error);
      await finish(crashed);
      return crashed;
    },
  );
  deps.onRunStarted?.({ runId: running.runId, schedule, controller: running.controller, done, durable: deps.durable !== undefined });
  await done;
  if (ending.execution === undefined) throw new Error(`scheduled run ${running.runId} ended without being recorded`);
  return ending.execution;
}
