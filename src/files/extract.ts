/**
 * The text of a PDF or DOCX, read in a worker thread that is stopped at a deadline and bounded in
 * heap: a hostile or broken document costs at most that, and becomes a refusal with a reason.
 */
import { Worker } from 'node:worker_threads';
import { extractReplySchema, type ExtractReply, type ExtractRequest } from './extract-protocol.js';
import { humanBytes } from './limits.js';
import { declaredUnpackedSize } from './zip-check.js';

export interface ExtractOptions {
  maxPages: number;
  maxChars: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

export type Extraction = { ok: true; text: string; note?: string } | { ok: false; reason: string };

/** A Word document unpacks to a few times its size; past this it is a zip bomb, not a document. */
const MAX_DOCX_UNPACKED_BYTES = 100 * 1024 * 1024;
const WORKER_HEAP_MB = 512;
/** Documents read at once across all runs: each worker may hold WORKER_HEAP_MB. */
const MAX_CONCURRENT_WORKERS = 2;

let runningWorkers = 0;
const waitingForWorker: (() => void)[] = [];

/** Waits for a worker slot; false if `signal` aborts first. */
async function acquireWorker(signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted === true) return false;
  if (runningWorkers < MAX_CONCURRENT_WORKERS) {
    runningWorkers += 1;
    return true;
  }
  return new Promise((resolve) => {
    const onAbort = () => {
      const at = waitingForWorker.indexOf(grant);
      if (at >= 0) waitingForWorker.splice(at, 1);
      resolve(false);
    };
    const grant = () => {
      signal?.removeEventListener('abort', onAbort);
      runningWorkers += 1;
      resolve(true);
    };
    waitingForWorker.push(grant);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function releaseWorker(): void {
  runningWorkers -= 1;
  waitingForWorker.shift()?.();
}

// The sources are TypeScript run through tsx: the worker registers tsx before loading its module.
const tsxApi = import.meta.resolve('tsx/esm/api');
const workerModule = new URL('./extract-worker.ts', import.meta.url).href;
const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(workerModule)}); });`;

function runWorker(request: ExtractRequest, timeoutMs: number, signal: AbortSignal | undefined): Promise<ExtractReply | 'timeout' | 'memory' | 'crashed' | 'cancelled'> {
  return new Promise((resolve) => {
    const worker = new Worker(bootstrap, {
      eval: true,
      workerData: request,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      stdout: true,
      stderr: true,
    });
    // Its output (pdf.js warnings) is not wanted: drained, never buffered.
    worker.stdout.resume();
    worker.stderr.resume();
    let settled = false;
    const finish = (result: ExtractReply | 'timeout' | 'memory' | 'crashed' | 'cancelled') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      resolve(result);
    };
    const onAbort = () => { finish('cancelled'); };
    const timer = setTimeout(() => { finish('timeout'); }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted === true) finish('cancelled');
    worker.on('message', (message: unknown) => {
      const reply = extractReplySchema.safeParse(message);
      finish(reply.success ? reply.data : 'crashed');
    });
    worker.on('error', (error: Error & { code?: string }) => {
      finish(error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory' : 'crashed');
    });
    worker.on('exit', () => { finish('crashed'); });
  });
}

function cut(text: string, maxChars: number): { text: string; cut: boolean } {
  const trimmed = text.replace(/[ \t]+\n/g, '\n').replace(/\n{3,}/g, '\n\n').trim();
  if (trimmed.length <= maxChars) return { text: trimmed, cut: false };
  return { text: Array.from(trimmed.slice(0, maxChars + 1)).slice(0, maxChars).join(''), cut: true };
}

function describe(reply: Extract<ExtractReply, { ok: true }>, maxChars: number): Extraction {
  const { text, cut: wasCut } = cut(reply.text, maxChars);
  const notes: string[] = [];
  if (reply.pages !== undefined && reply.pagesRead !== undefined && reply.pagesRead < reply.pages) {
    notes.push(`only the first ${reply.pagesRead} of its ${reply.pages} pages were read`);
  }
  if (wasCut) notes.push(`its text was cut at ${maxChars.toLocaleString('en')} characters`);
  if (text === '') notes.push('no text was found in it (a scan or pictures only?)');
  return notes.length === 0 ? { ok: true, text } : { ok: true, text, note: notes.join('; ') };
}

/** Reads the text of a PDF or DOCX; every failure is a reason for the person who sent it. */
export async function extractText(format: 'pdf' | 'docx', bytes: Buffer, options: ExtractOptions): Promise<Extraction> {
  const label = format === 'pdf' ? 'PDF' : 'DOCX';
  if (format === 'docx') {
    const size = declaredUnpackedSize(bytes);
    if (!size.ok) return { ok: false, reason: 'it is not a valid DOCX file (damaged, or not a Word document)' };
    if (size.unpackedBytes > MAX_DOCX_UNPACKED_BYTES) {
      return { ok: false, reason: `it unpacks to ${humanBytes(size.unpackedBytes)}, more than the ${humanBytes(MAX_DOCX_UNPACKED_BYTES)} a document may` };
    }
  }
  const request: ExtractRequest = { format, bytes: new Uint8Array(bytes), maxPages: options.maxPages, maxChars: options.maxChars };
  if (!(await acquireWorker(options.signal))) return { ok: false, reason: 'reading it was cancelled' };
  let reply: Awaited<ReturnType<typeof runWorker>>;
  try {
    reply = await runWorker(request, options.timeoutMs, options.signal);
  } finally {
    releaseWorker();
  }
  if (reply === 'timeout') return { ok: false, reason: `reading its text took longer than ${Math.max(1, Math.round(options.timeoutMs / 1000))} s` };
  if (reply === 'memory') return { ok: false, reason: 'reading its text needed more memory than Cairn allows' };
  if (reply === 'cancelled') return { ok: false, reason: 'reading it was cancelled' };
  if (reply === 'crashed') return { ok: false, reason: `its ${label} text could not be read` };
  if (!reply.ok) {
    return reply.problem === 'encrypted'
      ? { ok: false, reason: `the ${label} is password-protected; send an unprotected copy` }
      : { ok: false, reason: `it is not a valid ${label} file (damaged, or not really a ${label})` };
  }
  return describe(reply, options.maxChars);
}
