import type { Agent, RunRequest } from '../agent/agent.js';
import { newRunId } from '../agent/agent.js';
import type { RunResult } from '../agent/events.js';
import { StepLog } from '../agent/step-log.js';
import type { Logger } from '../log.js';
import { clip, errorMessage, oneLine } from '../text.js';
import { renderReports, type PastReport, type ScheduleReports } from '../conversations/schedule-reports.js';
import type { ChangeJudge } from './change.js';
import { DeliveryError, shouldDeliver, type FireReason, type ReportDelivery } from './delivery.js';
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
  /** Told when a run starts, so a surface can list, cancel and bill it (e.g. /runs cancel, the daily budget). */
  onRunStarted?: (run: { runId: string; schedule: Schedule; controller: AbortController; done: Promise<RunResult | undefined> }) => void;
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

/**
 * One firing of a schedule: an autonomous run in the schedule's scope, then the notify policy,
 * delivery, and the record of both. Run failures and delivery failures count as failures; they
 * back off exponentially and pause the schedule when they keep coming (telling its creator). A
 * channel that is gone or closed to Cairn pauses it at once. Runs from the terminal (no
 * delivery) only record that they ran: they neither post, nor count failures, nor move on-change.
 */
export async function executeSchedule(deps: ExecuteDeps, schedule: Schedule, reason: FireReason, controller: AbortController, hold: ScheduleHold | null = null): Promise<Execution> {
  const runId = newRunId();
  const steps = new StepLog();
  const startedAt = deps.now();
  const past = await pastReports(deps, schedule);
  const { limits: placeLimits, ...placeOptions } = deps.runOptions?.(schedule) ?? {};
  const running = deps.agent
    .run({
      ...placeOptions,
      goal: schedule.goal,
      mode: schedule.mode,
      runId,
      trigger: 'schedule',
      scope: scheduleScope(schedule),
      visibility: 'channel',
      billedTo: schedule.creatorId,
      briefing: briefing(schedule, past),
      signal: controller.signal,
      limits: { ...placeLimits, ...(hold === null ? {} : { maxCostUsd: hold.capUsd }) },
      ...(deps.workspaceFor === undefined ? {} : { workspaceDir: deps.workspaceFor(schedule) }),
      sinks: [steps.sink, ...(deps.sinks ?? [])],
    })
    .catch((error: unknown) => {
      deps.log.error({ err: error, scheduleId: schedule.id }, 'a scheduled run could not start');
      return crashedRun(schedule, runId, startedAt, error);
    });
  deps.onRunStarted?.({ runId, schedule, controller, done: running });
  const result = await running;
  hold?.finish(result.costUsd, result.runId);
  if (deps.delivery === null) {
    await deps.store.update(schedule.id, () => ({ lastRunAt: startedAt, lastRunId: result.runId, lastStatus: result.status }));
    return { result, delivered: false, deliveryError: null, pausedReason: null };
  }
  const delivery = deps.delivery;
  // Cancelled runs (a person, or a restart) are neither reported nor failures.
  const cancelled = result.limit === 'cancelled';
  const succeeded = result.status === 'succeeded';
  let changed: boolean | null = null;
  // Only on-change needs the comparison (a model call when the texts differ).
  if (succeeded && schedule.notify === 'on-change') {
    changed = schedule.lastReport === null ? true : await deps.judgeChange(schedule.goal, schedule.lastReport, result.answer ?? '', controller.signal);
  }

  let delivered = false;
  let deliveryError: DeliveryError | null = null;
  if (!cancelled && shouldDeliver(schedule.notify, result, changed)) {
    try {
      await delivery.deliver(schedule, { result, steps: steps.steps, reason, changed });
      delivered = true;
    } catch (error) {
      deliveryError = error instanceof DeliveryError ? error : new DeliveryError(errorMessage(error), false);
      deps.log.warn({ err: error, scheduleId: schedule.id, permanent: deliveryError.permanent }, 'could not deliver a scheduled report');
    }
  }

  const failed = !cancelled && (!succeeded || deliveryError !== null);
  const what = deliveryError !== null ? `the report could not be posted: ${deliveryError.message}` : `the run ${result.status}: ${oneLine(result.reason ?? 'no reason given', 300)}`;
  // on-change compares with the last report people saw; other policies keep the last good one as context.
  const keepReport = succeeded && deliveryError === null && (schedule.notify !== 'on-change' || delivered);
  // Set inside the update; an object so the narrowing after it sees the change.
  const pause: { reason: string | null } = { reason: null };
  const now = deps.now();
  const updated = await deps.store.update(schedule.id, (current) => {
    const record = { lastRunAt: startedAt, lastRunId: result.runId, lastStatus: result.status };
    // A cancelled run leaves the schedule as it was (including next_run_at, so a restart catches it up).
    if (cancelled) return record;
    const failures = failed ? current.consecutiveFailures + 1 : 0;
    pause.reason = null;
    if (deliveryError?.permanent === true) pause.reason = what;
    else if (failures >= deps.failures.maxFailures) pause.reason = `${failures} failures in a row (last: ${what.replace(/\.$/, '')})`;
    const pausedReason = pause.reason;
    const backoff = Math.min(deps.failures.backoffMaxMs, deps.failures.backoffBaseMs * 2 ** Math.max(0, failures - 1));
    return {
      ...record,
      ...(keepReport ? { lastReport: clip(result.answer ?? '', 4_000), lastReportAt: now } : {}),
      ...(delivered ? { lastDeliveryAt: now, lastDeliveryError: null } : {}),
      ...(deliveryError !== null ? { lastDeliveryError: deliveryError.message } : {}),
      consecutiveFailures: failures,
      backoffUntil: failures > 0 && pausedReason === null ? now + backoff : null,
      ...(pausedReason === null ? {} : { status: 'paused' as const, pausedReason }),
      nextRunAt: pausedReason === null ? deps.nextRunAt(current) : null,
    };
  });
  if (updated === undefined) deps.log.info({ scheduleId: schedule.id }, 'schedule removed while it ran');
  else if (keepReport) {
    await deps.reports?.keep(schedule.id, { runId: result.runId, text: result.answer ?? '', at: now }).catch((error: unknown) => {
      deps.log.warn({ err: error, scheduleId: schedule.id }, 'could not keep the report for the next runs');
    });
  }
  const pausedReason = pause.reason;
  if (pausedReason !== null) {
    const note = `⏸️ Your schedule \`${schedule.id}\` (“${oneLine(schedule.goal, 100)}”) is paused: ${pausedReason.replace(/\.$/, '')}. Fix the cause, then \`/schedule resume id:${schedule.id}\`.`;
    await delivery.tellCreator(schedule, note).catch((error: unknown) => {
      deps.log.warn({ err: error, scheduleId: schedule.id }, 'could not tell the creator that a schedule was paused');
    });
  }
  return { result, delivered, deliveryError: deliveryError?.message ?? null, pausedReason };
}
