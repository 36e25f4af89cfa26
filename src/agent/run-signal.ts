import type { LimitHit } from './budget.js';
import { RunSuspension } from './journal.js';

const CANCELLED = 'the run was cancelled';

/**
 * The one signal a run's model calls and tools get: it carries the caller's cancellation and the
 * wall-clock limit, and its reason (a LimitHit) says which fired. A caller's reason is kept in
 * words (e.g. "the bot is restarting"); a RunSuspension also marks the run as suspended.
 */
export class RunSignal {
  private readonly controller = new AbortController();
  private suspendedByCaller = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly caller: AbortSignal | undefined) {
    if (caller?.aborted === true) this.onCancel();
    caller?.addEventListener('abort', this.onCancel, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Whether the caller suspended the run (it ends without a result, to resume later). */
  get suspended(): boolean {
    return this.suspendedByCaller;
  }

  /** Starts the wall clock: `leftMs` is what the run may still take. */
  limitTime(maxDurationMs: number, leftMs: number): void {
    this.timer = setTimeout(
      () => {
        this.stop({ limit: 'time', detail: `ran out of time (limit ${Math.round(maxDurationMs / 1000)} s)` });
      },
      Math.max(0, leftMs),
    );
  }

  stop(hit: LimitHit): void {
    this.controller.abort(hit);
  }

  /** The run is over: no timer or listener outlives it. */
  dispose(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onCancel);
  }

  private readonly onCancel = (): void => {
    const why: unknown = this.caller?.reason;
    if (why instanceof RunSuspension) {
      this.suspendedByCaller = true;
      this.stop({ limit: 'cancelled', detail: why.detail, suspended: true });
      return;
    }
    this.stop({ limit: 'cancelled', detail: typeof why === 'string' ? why : CANCELLED });
  };
}
