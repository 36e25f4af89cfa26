import type { RunResult } from '../agent/events.js';
import type { StepSummary } from '../memory/episodes.js';
import { clip, errorMessage, oneLine } from '../text.js';
import { DeliveryError, shouldDeliver, type FireReason, type ReportDelivery } from './delivery.js';
import type { ExecuteDeps, Execution } from './execute.js';
import type { Schedule } from './store.js';

/** How a scheduled run that has ended is reported: why it fired, what it did, whether it was resumed. */
export interface Ended {
  result: RunResult;
  steps: StepSummary[];
  reason: FireReason;
  /** It went on after a restart (or on another worker) from its journal. */
  resumed: boolean;
}

/**
 * The end of a scheduled run: the notify policy, delivery, and the record of both. Run failures
 * and delivery failures count as failures; they back off exponentially and pause the schedule
 * when they keep coming (telling its creator). A channel that is gone or closed to Cairn pauses
 * it at once. Runs from the terminal (no delivery) only record that they ran.
 */
export async function finishScheduledRun(deps: ExecuteDeps, schedule: Schedule, ended: Ended, signal: AbortSignal): Promise<Execution> {
  const { result } = ended;
  const startedAt = Date.parse(result.startedAt);
  if (deps.delivery === null) {
    await deps.store.update(schedule.id, () => ({ lastRunAt: startedAt, lastRunId: result.runId, lastStatus: result.status }));
    return { result, delivered: false, deliveryError: null, pausedReason: null };
  }
  const delivery: ReportDelivery = deps.delivery;
  // Cancelled runs (a person, or a restart) are neither reported nor failures.
  const cancelled = result.limit === 'cancelled';
  const succeeded = result.status === 'succeeded';
  let changed: boolean | null = null;
  // Only on-change needs the comparison (a model call when the texts differ).
  if (succeeded && schedule.notify === 'on-change') {
    changed = schedule.lastReport === null ? true : await deps.judgeChange(schedule.goal, schedule.lastReport, result.answer ?? '', signal);
  }

  let delivered = false;
  let deliveryError: DeliveryError | null = null;
  if (!cancelled && shouldDeliver(schedule.notify, result, changed)) {
    try {
      await delivery.deliver(schedule, { result, steps: ended.steps, reason: ended.reason, changed, resumed: ended.resumed });
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
  if (pausedReason !== null) await tellPaused(deps, schedule, pausedReason);
  return { result, delivered, deliveryError: deliveryError?.message ?? null, pausedReason };
}

/** Tells a schedule's creator that a firing paused it, and why (best effort: a failure is logged). */
export async function tellPaused(deps: Pick<ExecuteDeps, 'delivery' | 'log'>, schedule: Schedule, reason: string): Promise<void> {
  const note = `⏸️ Your schedule \`${schedule.id}\` (“${oneLine(schedule.goal, 100)}”) is paused: ${reason.replace(/\.$/, '')}. Fix the cause, then \`/schedule resume id:${schedule.id}\`.`;
  await deps.delivery?.tellCreator(schedule, note).catch((error: unknown) => {
    deps.log.warn({ err: error, scheduleId: schedule.id }, 'could not tell the creator that a schedule was paused');
  });
}
