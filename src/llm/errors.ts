import type { TokenUsage } from './types.js';

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
  /** The server's own words, secret-free, for callers that match on them (context overflow, tools unsupported). */
  readonly detail?: string;
  /** The error body's `code` as text: OpenAI's `context_length_exceeded`; vLLM and llama.cpp send `400`. */
  readonly serverCode?: string;
  /** The error body's `type`: llama.cpp's `exceed_context_size_error`, OpenAI's `invalid_request_error`. */
  readonly serverType?: string;
  /** Tokens the failed call still used (a malformed reply and its corrective retry): still to be charged. */
  readonly usage?: TokenUsage;

  constructor(kind: LlmErrorKind, message: string, options: LlmErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    if (options.status !== undefined) this.status = options.status;
    this.attempts = options.attempts;
    if (options.detail !== undefined) this.detail = options.detail;
    if (options.serverCode !== undefined) this.serverCode = options.serverCode;
    if (options.serverType !== undefined) this.serverType = options.serverType;
    if (options.usage !== undefined) this.usage = options.usage;
  }
}

/** What a failed call still used and must be charged for (a malformed reply's tries); undefined otherwise. */
export function usageOf(error: unknown): TokenUsage | undefined {
  return error instanceof LlmError ? error.usage : undefined;
}

export interface LlmErrorOptions {
  status?: number;
  attempts: number;
  cause?: unknown;
  detail?: string;
  serverCode?: string;
  serverType?: string;
  usage?: TokenUsage;
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
  /** The error body's `code` and `type`, when the server sent them (see LlmError). */
  serverCode?: string;
  serverType?: string;
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

/** Kinds whose detail is the server's own text (for the others it is a socket code or a validation issue). */
const SERVER_WORDS: ReadonlySet<LlmErrorKind> = new Set(['rate_limited', 'server_error', 'auth', 'bad_request', 'not_found']);

export function toLlmError(failure: AttemptFailure, attempts: number, ctx: ErrorContext, cause?: unknown): LlmError {
  return new LlmError(failure.kind, describeFailure(failure, attempts, ctx), {
    attempts,
    ...(failure.status !== undefined ? { status: failure.status } : {}),
    ...(failure.detail !== undefined && SERVER_WORDS.has(failure.kind) ? { detail: failure.detail } : {}),
    ...(failure.serverCode !== undefined ? { serverCode: failure.serverCode } : {}),
    ...(failure.serverType !== undefined ? { serverType: failure.serverType } : {}),
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
  // The templates end the sentence themselves; "tokens.." would look like a typo.
  const words = f.detail?.replace(/(?<![.…])\.$/, '');
  const detail = words ? `: ${words}` : '';
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
      // OpenAI's out-of-credit answer is a 429 too ("You exceeded your current quota…"): its words say which.
      return `The model server at ${url} is rate-limiting requests (429)${tried}${detail}.${hint} Wait a little and try again, or check the account's rate limits and quota.`;
    }
    case 'server_error':
      return `The model server at ${url} failed${f.status !== undefined ? ` with status ${f.status}` : ''}${tried}${detail}.${partial}`;
    case 'auth':
      // A 403's reason varies (OpenRouter's key limits, a region, a proxy), so its words are kept;
      // a 401 always means the key, and its body is the likeliest to echo it, so it is left out.
      return f.status === 403
        ? `The model server denied access (403)${detail}. Check OPENAI_API_KEY and that the key may use model "${ctx.model}".`
        : 'The model server refused the API key (401). Check OPENAI_API_KEY.';
    case 'not_found':
      // The words go last: a 404 is not always a missing model (OpenRouter: "No endpoints found that support tool use").
      return `Model "${ctx.model}" was not found on the server (404). Check CAIRN_MODEL, and that OPENAI_BASE_URL (${url}) is the API root, usually ending in /v1.${words ? ` The server said: ${words}.` : ''}`;
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

/**
 * Masks the given secrets (8+ characters, as in log.ts: shorter ones would mask ordinary words)
 * and anything shaped like a key, since servers echo keys back (OpenAI's 401 quotes part of it,
 * "Incorrect API key provided: sk-abc***xyz") and a wrapper may repeat a header or parameter it
 * refused. Tokens shorter than 8 characters are words ("expected a Bearer token"), not keys.
 */
export function maskSecrets(text: string, secrets: readonly string[] = []): string {
  let clean = text;
  for (const secret of secrets) if (secret.length >= 8) clean = clean.replaceAll(secret, '[REDACTED]');
  return clean
    .replace(/\b(sk-[A-Za-z0-9_*.-]{6,})/g, '[REDACTED]')
    .replace(/\b(Bearer\s+)[\w.~+/=*-]{8,}/gi, '$1[REDACTED]')
    .replace(/\b(api[_-]?key|access[_-]?token)(["']?\s*[:=]\s*["']?)[\w.~+/=*-]{8,}/gi, '$1$2[REDACTED]');
}

/** Server error text, trimmed, with anything that looks like an API key masked. */
export function cleanDetail(text: string, secrets: readonly string[] = []): string {
  const clean = maskSecrets(text.replace(/\s+/g, ' ').trim(), secrets);
  return clean.length > 300 ? `${clean.slice(0, 299)}…` : clean;
}
