/**
 * Our own retry loop (the SDK's is switched off) so that backoff waits can be cancelled,
 * every retry is logged, and the final error says how many attempts were made.
 */
import type { Logger } from '../log.js';
import { AttemptFailed, toLlmError, type AttemptFailure, type ErrorContext } from './errors.js';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /**
   * Longest server-requested wait (retry-after) we honour. A longer hint means retrying sooner is
   * pointless, so we give up at once and say so instead of stalling the conversation.
   */
  retryAfterCapMs: number;
}

export const DEFAULT_RETRY_AFTER_CAP_MS = 60_000;

/** Exponential backoff with full jitter: uniform in [0, min(max, base * 2^n)]. */
export function backoffDelayMs(retryIndex: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retryIndex);
  return Math.round(random() * ceiling);
}

/**
 * How long to wait before the next attempt, or undefined when the server asked for a longer
 * wait than we accept. A server hint replaces our own backoff: it knows when it will be ready.
 */
export function retryDelayMs(
  failure: AttemptFailure,
  retryIndex: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number | undefined {
  if (failure.retryAfterMs === undefined) return backoffDelayMs(retryIndex, policy, random);
  if (failure.retryAfterMs > policy.retryAfterCapMs) return undefined;
  return Math.max(0, Math.round(failure.retryAfterMs));
}

/** Reads `retry-after-ms` (OpenAI) or `retry-after` (seconds or an HTTP date) in milliseconds. */
export function parseRetryAfter(headers: Headers | null | undefined, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const value = Number(ms);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const after = headers.get('retry-after');
  if (after === null || after.trim() === '') return undefined;
  const secs = Number(after);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Resolves after `ms`, or rejects as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryOptions {
  policy: RetryPolicy;
  /** The caller's signal: aborting it ends the loop, including a backoff wait. */
  signal?: AbortSignal;
  log: Logger;
  ctx: ErrorContext;
  random?: () => number;
}

/**
 * Runs `attempt` until it succeeds, fails in a way not worth retrying, or retries run out.
 * Attempts signal failure by throwing AttemptFailed; anything else is a bug or a caller's
 * callback error and propagates unchanged. Failures end as LlmError.
 */
export async function withRetries<T>(attempt: (attemptNumber: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { policy, signal, log, ctx } = options;
  const maxAttempts = policy.maxRetries + 1;
  for (let attemptNumber = 1; ; attemptNumber++) {
    let failed: AttemptFailed;
    try {
      return await attempt(attemptNumber);
    } catch (err) {
      if (!(err instanceof AttemptFailed)) throw err;
      failed = err;
    }
    const failure = failed.failure;
    const cause = failed.cause;
    if (!failure.retryable || attemptNumber >= maxAttempts) {
      throw toLlmError(failure, attemptNumber, ctx, cause);
    }
    const delayMs = retryDelayMs(failure, attemptNumber - 1, policy, options.random);
    if (delayMs === undefined) {
      throw toLlmError({ ...failure, retryable: false }, attemptNumber, ctx, cause);
    }
    log.warn(
      { model: ctx.model, attempt: attemptNumber, maxAttempts, kind: failure.kind, status: failure.status, delayMs },
      'model request failed; retrying',
    );
    try {
      await sleep(delayMs, signal);
    } catch {
      throw toLlmError({ kind: 'aborted', retryable: false }, attemptNumber, ctx);
    }
  }
}
