import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { AttemptFailed, LlmError } from '../../src/llm/errors.js';
import { backoffDelayMs, parseRetryAfter, retryDelayMs, sleep, withRetries, type RetryPolicy } from '../../src/llm/retry.js';

const policy: RetryPolicy = { maxRetries: 3, baseDelayMs: 500, maxDelayMs: 8000, retryAfterCapMs: 60_000 };
const ctx = { baseURL: 'http://user:pass@127.0.0.1:1234/v1', model: 'm', timeoutMs: 60_000 };

describe('backoff', () => {
  it('grows exponentially under full jitter and is capped', () => {
    expect(backoffDelayMs(0, policy, () => 1)).toBe(500);
    expect(backoffDelayMs(3, policy, () => 1)).toBe(4000);
    expect(backoffDelayMs(10, policy, () => 1)).toBe(8000);
    expect(backoffDelayMs(10, policy, () => 0)).toBe(0);
    expect(backoffDelayMs(2, policy, () => 0.5)).toBe(1000);
  });

  it('uses the server hint instead, unless it is longer than the cap', () => {
    const failure = { kind: 'rate_limited' as const, retryable: true, retryAfterMs: 20_000 };
    expect(retryDelayMs(failure, 0, policy)).toBe(20_000);
    expect(retryDelayMs({ ...failure, retryAfterMs: 61_000 }, 0, policy)).toBeUndefined();
  });

  it('parses retry-after-ms, retry-after seconds and dates', () => {
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '250' }))).toBe(250);
    expect(parseRetryAfter(new Headers({ 'retry-after': '2' }))).toBe(2000);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:05 GMT' }), now)).toBe(5000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(parseRetryAfter(new Headers())).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('sleep', () => {
  it('rejects as soon as the signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const pending = sleep(10_000, controller.signal);
    controller.abort();
    await expect(pending).rejects.toBeDefined();
    expect(Date.now() - started).toBeLessThan(100);
  });
});

describe('withRetries', () => {
  const fast: RetryPolicy = { ...policy, baseDelayMs: 1, maxDelayMs: 2 };

  it('returns the first success and counts attempts', async () => {
    let calls = 0;
    const value = await withRetries(
      (attempt) => {
        calls++;
        if (attempt < 3) throw new AttemptFailed({ kind: 'server_error', retryable: true, status: 502 });
        return Promise.resolve('done');
      },
      { policy: fast, log: silentLogger(), ctx },
    );
    expect(value).toBe('done');
    expect(calls).toBe(3);
  });

  it('reports the last failure with the attempt count and hides URL credentials', async () => {
    const err: unknown = await withRetries(
      () => Promise.reject(new AttemptFailed({ kind: 'timeout', retryable: true })),
      { policy: { ...fast, maxRetries: 1 }, log: silentLogger(), ctx },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect((err as LlmError).message).toBe('The model server at http://127.0.0.1:1234/v1 did not answer within 60 s (tried 2 times).');
  });

  it('lets errors that are not attempt failures through unchanged', async () => {
    const bug = new TypeError('bug');
    await expect(withRetries(() => Promise.reject(bug), { policy: fast, log: silentLogger(), ctx })).rejects.toBe(bug);
  });
});
