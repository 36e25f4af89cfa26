import type { Logger } from '../log.js';
import { oneLine } from '../text.js';
import type { ReportDelivery } from './delivery.js';
import type { Schedule, ScheduleStore } from './store.js';

export interface SkipDeps {
  store: ScheduleStore;
  delivery: ReportDelivery | null;
  log: Logger;
  now: () => number;
  nextRunAt: (schedule: Schedule) => number | null;
}

/** Whether the schedule's last firing was skipped: stopped, with no run behind it. */
export function lastFiringSkipped(schedule: Schedule): boolean {
  return schedule.lastStatus === 'stopped' && schedule.lastRunId === null && schedule.lastRunAt !== null;
}

/**
 * A firing that did not start because a daily budget is spent. Recorded like a run that stopped —
 * last run time and status, with no run id — but not as a failure: the budget resets by itself,
 * so there is no backoff and no pause. Its creator is told why when the skipping begins, not on
 * every firing (they may be a minute apart); a restart does not repeat it (the record says so).
 */
export async function recordSkipped(deps: SkipDeps, schedule: Schedule, why: string): Promise<void> {
  const now = deps.now();
  const state = { first: false };
  const updated = await deps.store.update(schedule.id, (current) => {
    state.first = !lastFiringSkipped(current);
    return { lastRunAt: now, lastRunId: null, lastStatus: 'stopped' as const, nextRunAt: deps.nextRunAt(current) };
  });
  deps.log.info({ scheduleId: schedule.id, why }, 'scheduled run skipped: a budget is spent');
  if (updated === undefined || !state.first || deps.delivery === null) return;
  const note = `⏭️ Your schedule \`${schedule.id}\` (“${oneLine(schedule.goal, 100)}”) was skipped: ${why.replace(/\.$/, '')}. It runs again at its next time once there is budget left.`;
  await deps.delivery.tellCreator(schedule, note).catch((error: unknown) => {
    deps.log.warn({ err: error, scheduleId: schedule.id }, 'could not tell the creator that a schedule was skipped');
  });
}
