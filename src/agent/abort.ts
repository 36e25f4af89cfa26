import type { LimitHit } from './budget.js';

/** Why the run's signal fired, or null while it has not. */
export function abortHit(signal: AbortSignal): LimitHit | null {
  if (!signal.aborted) return null;
  const reason: unknown = signal.reason;
  if (reason !== null && typeof reason === 'object' && 'limit' in reason && 'detail' in reason) {
    return reason as LimitHit;
  }
  return { limit: 'cancelled', detail: 'the run was cancelled' };
}

/** The words a stopped run's result gives for the limit that stopped it. */
export function stopReason(hit: LimitHit): string {
  if (hit.limit !== 'cancelled') return `Stopped: ${hit.detail}.`;
  return hit.detail === 'the run was cancelled' ? 'Cancelled.' : `Cancelled: ${hit.detail}.`;
}

/** Whether the run's signal fired for a suspension (a shutdown): it resumes later, so nothing it waits on is given up. */
export function suspendedBy(signal: AbortSignal): boolean {
  return abortHit(signal)?.suspended === true;
}
