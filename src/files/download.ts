/**
 * One bounded download from the CDN: no redirects, a deadline, and never more than `maxBytes`
 * read, whatever the server declared (a CDN, or whatever answers in its place, can lie).
 */
import { humanBytes } from './limits.js';

export interface DownloadOptions {
  maxBytes: number;
  /** Said when the file is too large: the per-file limit, or what is left of the total. */
  limitText: string;
  timeoutMs: number;
  signal?: AbortSignal;
  fetchImpl: typeof fetch;
}

export type Download = { ok: true; bytes: Buffer } | { ok: false; reason: string };

function statusReason(status: number): string {
  // Discord's attachment URLs are signed and expire (ex/is/hm parameters, docs: Reference, "Signed
  // Attachment CDN URLs"); an expired link answers "This content is no longer available.".
  if (status === 404 || status === 410) return `Discord no longer has it (HTTP ${status}: the link may have expired); send it again`;
  if (status === 403) return 'Discord refused the download (HTTP 403: the link may have expired); send it again';
  if (status === 429) return 'Discord is rate-limiting downloads (HTTP 429); try again in a minute';
  return `the download failed (HTTP ${status})`;
}

function errorReason(error: unknown, timedOut: boolean, cancelled: boolean, timeoutMs: number): string {
  if (cancelled) return 'the download was cancelled';
  if (timedOut) return `the download took longer than ${Math.max(1, Math.round(timeoutMs / 1000))} s`;
  const code = error instanceof Error && error.cause instanceof Error ? (error.cause as NodeJS.ErrnoException).code : undefined;
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'the connection to Discord was lost during the download';
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'Discord could not be reached';
  return 'the download failed';
}

/** Reads at most `maxBytes` of the body; past that it stops reading and says so. */
async function readBounded(body: ReadableStream<Uint8Array>, options: DownloadOptions): Promise<Download> {
  const reader = body.getReader();
  const chunks: Buffer[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > options.maxBytes) {
      await reader.cancel().catch(() => undefined);
      return { ok: false, reason: `it is larger than ${options.limitText} (more than ${humanBytes(options.maxBytes)} arrived)` };
    }
    chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }
  return { ok: true, bytes: Buffer.concat(chunks, received) };
}

export async function download(url: string, options: DownloadOptions): Promise<Download> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal === undefined ? deadline : AbortSignal.any([options.signal, deadline]);
  try {
    const response = await options.fetchImpl(url, { redirect: 'manual', signal, headers: { accept: '*/*' } });
    // With redirect: 'manual' Node's fetch hands the 3xx back as it is (browsers: an opaque redirect).
    if (response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)) {
      await response.body?.cancel().catch(() => undefined);
      return { ok: false, reason: `the CDN answered with a redirect (HTTP ${response.status}), which Cairn does not follow` };
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      return { ok: false, reason: statusReason(response.status) };
    }
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(declared) && declared > options.maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      return { ok: false, reason: `it is ${humanBytes(declared)}, larger than ${options.limitText}` };
    }
    if (response.body === null) return { ok: true, bytes: Buffer.alloc(0) };
    return await readBounded(response.body, options);
  } catch (error) {
    return { ok: false, reason: errorReason(error, deadline.aborted, options.signal?.aborted === true, options.timeoutMs) };
  }
}
