/**
 * The one error type the LLM client throws. Messages are written for the person running the
 * bot: they say what failed and what to check, and never carry secrets or stack traces.
 */

export type LlmErrorKind =
  | 'timeout'
  | 'rate_limited'
  | 'server_error'
  | 'auth'
  | 'bad_request'
  | 'not_found'
  | 'connection'
  | 'aborted'
  | 'malformed_output';

export class LlmError extends Error {
  override readonly name = 'LlmError';
  readonly kind: LlmErrorKind;
  readonly status?: number;
  /** Attempts made before giving up (1 when the first failure was final). */
  readonly attempts: number;

  constructor(kind: LlmErrorKind, message: string, options: { status?: number; attempts: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    if (options.status !== undefined) this.status = options.status;
    this.attempts = options.attempts;
  }
}

/** One failed attempt, classified; the retry loop decides on it, the message builder explains it. */
export interface AttemptFailure {
  kind: LlmErrorKind;
  retryable: boolean;
  status?: number;
  /** The server's own wait hint (retry-after-ms / retry-after), when it gave one. */
  retryAfterMs?: number;
  /** Short, secret-free detail: the server's error text, a validation issue, a socket error code. */
  detail?: string;
  /** The stream broke off after text had already reached the caller. */
  partial?: boolean;
}

export interface ErrorContext {
  baseURL: string;
  model: string;
  timeoutMs: number;
}

/** Thrown inside an attempt to carry its classification to the retry loop. */
export class AttemptFailed extends Error {
  readonly failure: AttemptFailure;

  constructor(failure: AttemptFailure, cause?: unknown) {
    super(failure.detail ?? failure.kind, cause === undefined ? undefined : { cause });
    this.failure = failure;
  }
}

export function toLlmError(failure: AttemptFailure, attempts: number, ctx: ErrorContext, cause?: unknown): LlmError {
  return new LlmError(failure.kind, describeFailure(failure, attempts, ctx), {
    attempts,
    ...(failure.status !== undefined ? { status: failure.status } : {}),
    cause,
  });
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return Number.isInteger(s) ? String(s) : s.toFixed(1);
}

export function describeFailure(f: AttemptFailure, attempts: number, ctx: ErrorContext): string {
  const url = safeUrl(ctx.baseURL);
  const tried = attempts > 1 ? ` (tried ${attempts} times)` : '';
  const detail = f.detail ? `: ${f.detail}` : '';
  const partial = f.partial ? ' Part of the reply had already been shown, so it was not retried.' : '';
  switch (f.kind) {
    case 'timeout':
      return f.partial
        ? `The model server at ${url} stopped sending its reply for more than ${seconds(ctx.timeoutMs)} s.${partial}`
        : `The model server at ${url} did not answer within ${seconds(ctx.timeoutMs)} s${tried}.`;
    case 'rate_limited': {
      const hint =
        // Still marked retryable means retries ran out; not retryable means the wait was too long.
        f.retryAfterMs !== undefined && !f.retryable
          ? ` It asked to wait ${seconds(f.retryAfterMs)} s, too long to wait here.`
          : '';
      return `The model server at ${url} is rate-limiting requests (429)${tried}.${hint} Wait a little and try again, or check the account's rate limits and quota.`;
    }
    case 'server_error':
      return `The model server at ${url} failed${f.status !== undefined ? ` with status ${f.status}` : ''}${tried}${detail}.${partial}`;
    case 'auth':
      return f.status === 403
        ? `The model server denied access (403). Check OPENAI_API_KEY and that the key may use model "${ctx.model}".`
        : 'The model server refused the API key (401). Check OPENAI_API_KEY.';
    case 'not_found':
      return `Model "${ctx.model}" was not found on the server (404). Check CAIRN_MODEL, and that OPENAI_BASE_URL (${url}) is the API root, usually ending in /v1.`;
    case 'bad_request':
      return `The model server rejected the request${f.status !== undefined ? ` (${f.status})` : ''}${detail}.`;
    case 'connection':
      return f.partial
        ? `The connection to the model server at ${url} broke off${detail}.${partial}`
        : `Could not reach the model server at ${url}${tried}${detail}. Is it running? Check OPENAI_BASE_URL.`;
    case 'aborted':
      return 'The model request was cancelled.';
    case 'malformed_output':
      return `The model server at ${url} sent a reply that is not a valid chat completion${tried}${detail}.${partial}`;
  }
}

/** The base URL without any user:password part, which must not reach logs or messages. */
export function safeUrl(baseURL: string): string {
  try {
    const url = new URL(baseURL);
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
}

/** Server error text, trimmed, with anything that looks like an API key masked. */
export function cleanDetail(text: string, secrets: readonly string[] = []): string {
  let clean = text.replace(/\s+/g, ' ').trim();
  for (const secret of secrets) if (secret.length >= 8) clean = clean.replaceAll(secret, '[REDACTED]');
  clean = clean.replace(/\b(sk-[A-Za-z0-9_*-]{6,})/g, '[REDACTED]');
  return clean.length > 300 ? `${clean.slice(0, 297)}...` : clean;
}
