/**
 * A `fetch` for the OpenAI SDK's `fetch` option that rewrites every non-2xx body into the one
 * shape openai v6 understands, `{"error":{"message":…}}`. Without it the SDK drops vLLM ≤0.10.0,
 * SGLang and FastAPI bodies ("400 status code (no body)") and JSON-quotes LM Studio's string
 * errors (../shared/notes/model-servers.md §1). Status and headers (Retry-After, retry-after-ms,
 * x-should-retry, x-request-id) pass through untouched; 2xx replies, streams included, are not
 * touched at all.
 */
import type { ClientOptions } from 'openai';
import { extractServerError, MAX_ERROR_BODY_BYTES } from './error-body.js';

/** The SDK's `fetch` option type, taken from the SDK so a change there shows up at compile time. */
export type Fetch = NonNullable<ClientOptions['fetch']>;

export interface ErrorBodyFetchOptions {
  /** Masked in the rewritten body, so the SDK's error message cannot carry them either. */
  secrets?: readonly string[];
  /** The fetch to wrap (default: the global one, which the SDK would otherwise use). */
  fetch?: Fetch;
}

export function errorBodyFetch(options: ErrorBodyFetchOptions = {}): Fetch {
  const secrets = options.secrets ?? [];
  return async (input, init) => {
    const inner = options.fetch ?? globalThis.fetch;
    const response = await inner(input, init);
    // Only 4xx/5xx carry error bodies; a 304 may not even be given a body.
    if (response.status < 400) return response;
    const body = await readBounded(response.body, MAX_ERROR_BODY_BYTES);
    const found = extractServerError({
      status: response.status,
      body,
      contentType: response.headers.get('content-type'),
      secrets,
    });
    const headers = new Headers(response.headers);
    // The new body is a plain, already-decoded string: the old length and encoding no longer apply.
    headers.delete('content-length');
    headers.delete('content-encoding');
    headers.delete('transfer-encoding');
    const error = { ...found.fields, ...(found.message !== undefined ? { message: found.message } : {}) };
    if (Object.keys(error).length === 0) {
      // An empty body stays empty: the SDK then says "status code (no body)", which is true.
      return new Response(null, { status: response.status, statusText: response.statusText, headers });
    }
    headers.set('content-type', 'application/json');
    return new Response(JSON.stringify({ error }), { status: response.status, statusText: response.statusText, headers });
  };
}

/**
 * At most `limit` bytes of the body, then the rest is cancelled: a misbehaving proxy can send an
 * endless error page. A body that breaks off mid-way keeps what arrived; the status alone still
 * says what kind of failure it was, and an abort is seen by the caller's own signal checks.
 */
export async function readBounded(body: ReadableStream<Uint8Array> | null, limit: number): Promise<string> {
  if (body === null) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // keep what arrived (see above)
  } finally {
    reader.cancel().catch(() => undefined);
  }
  // Non-fatal decoding: a multi-byte character cut at the limit becomes U+FFFD instead of throwing.
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, limit));
}
