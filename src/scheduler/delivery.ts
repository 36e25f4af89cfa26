import type { RunResult } from '../agent/events.js';
import type { StepSummary } from '../memory/episodes.js';
import type { NotifyPolicy, Schedule } from './store.js';

/** Why a scheduled run was started. */
export type FireReason = 'cron' | 'manual' | 'catch-up';

export interface Report {
  result: RunResult;
  steps: StepSummary[];
  reason: FireReason;
  /** Whether the finding differs from the previous report (on-change schedules); null when not compared. */
  changed: boolean | null;
  /** The run went on from its journal after a restart (or another worker's death). */
  resumed?: boolean;
}

/** A report that could not be posted. `permanent`: retrying will not help (channel gone, no access). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** Where reports go (a Discord channel); the scheduler knows nothing of Discord. */
export interface ReportDelivery {
  /** Posts a report; throws a DeliveryError (or any error, taken as transient) when it cannot. */
  deliver(schedule: Schedule, report: Report): Promise<void>;
  /** Tells the schedule's creator something they must act on (it was paused, say). Best effort. */
  tellCreator(schedule: Schedule, message: string): Promise<void>;
}

/** Whether a report is posted under a notify policy. */
export function shouldDeliver(notify: NotifyPolicy, result: RunResult, changed: boolean | null): boolean {
  if (notify === 'always') return true;
  if (notify === 'on-failure') return result.status !== 'succeeded';
  return result.status === 'succeeded' && changed === true;
}
