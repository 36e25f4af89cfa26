/**
 * Sorts whatever an attempt threw (SDK errors, fetch failures, JSON errors) into an
 * AttemptFailure: which LlmError kind it is and whether another attempt could help.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { errorValueText } from './error-body.js';
import { AttemptFailed, cleanDetail, type AttemptFailure } from './errors.js';
import { parseRetryAfter } from './retry.js';

/**
 * 5xx bodies that are answers, not faults: llama.cpp built before jinja was on by default answers
 * `tools` with 500 "tools param requires --jinja flag" (ramalama#988, ../shared/notes/model-servers.md
 * §2), and Ollama a vision request to a text model with 500 "…missing data required for image
 * input" (ollama PR #9741, §8), and llama.cpp without a projector 500 "image input is not supported - hint:
 * … mmproj" (ClaraVerse#234). Retrying them only delays the fallback.
 */
const CONFIGURATION_REFUSALS = /requires --jinja|missing data required for image input|image input is not supported/i;

export interface AttemptState {
  /** The caller's signal was aborted: never retried. */
  callerAborted: boolean;
  /** Our per-attempt (or stream idle) timer fired. */
  timedOut: boolean;
  /** Text already reached the caller, so a retry would show it twice. */
  partial: boolean;
  /** Values to mask in server error text (the API key). */
  secrets: readonly string[];
}

export function classifyAttemptError(err: unknown, state: AttemptState): AttemptFailure {
  // Aborts surface as several SDK and DOM error types; the signals say which abort it was.
  if (state.callerAborted) return { kind: 'aborted', retryable: false };
  const failure = baseFailure(err, state);
  if (!state.partial || failure.kind === 'aborted') return failure;
  return { ...failure, retryable: false, partial: true };
}

function baseFailure(err: unknown, state: AttemptState): AttemptFailure {
  if (err instanceof AttemptFailed) return err.failure;
  if (state.timedOut || err instanceof APIConnectionTimeoutError) return { kind: 'timeout', retryable: true };
  if (err instanceof APIUserAbortError) return { kind: 'aborted', retryable: false };
  if (err instanceof APIConnectionError) {
    const code = errorCode(err);
    return { kind: 'connection', retryable: true, ...(code ? { detail: code } : {}) };
  }
  if (err instanceof APIError) {
    // The SDK's generic parameters default to `any`; read the fields as unknown and narrow.
    const status: unknown = err.status;
    const headers: unknown = err.headers;
    const body: unknown = err.error;
    const failure = httpFailure(
      typeof status === 'number' ? status : undefined,
      headers instanceof Headers ? headers : undefined,
      body,
      state.secrets,
    );
    return { ...failure, ...serverFields(err.code, err.type, state.secrets) };
  }
  if (err instanceof SyntaxError) {
    return { kind: 'malformed_output', retryable: true, detail: 'the body is not valid JSON' };
  }
  // Anything else came from reading the body (e.g. undici's "terminated" when the socket drops).
  const code = errorCode(err);
  const detail = code ?? (err instanceof Error ? cleanDetail(err.message, state.secrets) : undefined);
  return { kind: 'connection', retryable: true, ...(detail ? { detail } : {}) };
}

function httpFailure(
  status: number | undefined,
  headers: Headers | undefined,
  body: unknown,
  secrets: readonly string[],
): AttemptFailure {
  const detail = serverMessage(body, secrets);
  const withDetail = detail ? { detail } : {};
  if (status === undefined) {
    // An error event inside a stream: the server failed mid-reply.
    return { kind: 'server_error', retryable: true, ...withDetail };
  }
  const retryAfterMs = parseRetryAfter(headers);
  const hint = retryAfterMs !== undefined ? { retryAfterMs } : {};
  if (status === 401 || status === 403) return { kind: 'auth', retryable: false, status, ...withDetail };
  if (status === 404) return { kind: 'not_found', retryable: false, status, ...withDetail };
  if (status === 408) return { kind: 'timeout', retryable: true, status, ...hint };
  if (status === 429) return { kind: 'rate_limited', retryable: true, status, ...withDetail, ...hint };
  if (status === 409 || status >= 500) {
    // A 5xx that states the server's configuration will say the same on every retry.
    const settled = detail !== undefined && CONFIGURATION_REFUSALS.test(detail);
    return { kind: 'server_error', retryable: !settled, status, ...withDetail, ...hint };
  }
  return { kind: 'bad_request', retryable: false, status, ...withDetail };
}

/**
 * The server's own error text (not the SDK's "400 ..." prefix), cleaned of secrets. HTTP bodies
 * arrive as `{message}` (error-fetch.ts rewrites them); a stream's `data: {"error":…}` may hold
 * any shape, a bare string included.
 */
function serverMessage(body: unknown, secrets: readonly string[]): string | undefined {
  const text = errorValueText(body);
  return text ? cleanDetail(text, secrets) || undefined : undefined;
}

/** The body's `code` (a string at OpenAI, the number 400 at vLLM and llama.cpp) and `type`, as text. */
function serverFields(code: unknown, type: unknown, secrets: readonly string[]): Pick<AttemptFailure, 'serverCode' | 'serverType'> {
  const text = (value: unknown): string | undefined =>
    typeof value === 'string' || typeof value === 'number' ? cleanDetail(String(value), secrets) || undefined : undefined;
  const serverCode = text(code);
  const serverType = text(type);
  return { ...(serverCode !== undefined ? { serverCode } : {}), ...(serverType !== undefined ? { serverType } : {}) };
}

/** The first errno-style code (ECONNREFUSED, ENOTFOUND...) along the cause chain. */
function errorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if ('code' in current && typeof current.code === 'string' && /^[A-Z_]+$/.test(current.code)) {
      return current.code;
    }
    current = current.cause;
  }
  return undefined;
}
