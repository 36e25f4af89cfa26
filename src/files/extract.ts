/**
 * The text of a PDF or DOCX, read in a child process that is stopped at a deadline and killed past
 * a memory cap (extract-runner.ts): a hostile or broken document costs at most that, and becomes a
 * refusal with a reason.
 */
import { type ExtractReply, type ExtractRequest } from './extract-protocol.js';
import { runExtraction, type RunOutcome } from './extract-runner.js';
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
/** Resident memory of one reading process (heap, inflated streams, everything). */
const MAX_READER_MEMORY_BYTES = 512 * 1024 * 1024;
/** Documents read at once across all runs: each reader may hold MAX_READER_MEMORY_BYTES. */
const MAX_CONCURRENT_READERS = 2;

let runningReaders = 0;
const waitingForReader: (() => void)[] = [];

/** Waits for a reader slot; false if `signal` aborts first. */
async function acquireReader(signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted === true) return false;
  if (runningReaders < MAX_CONCURRENT_READERS) {
    runningReaders += 1;
    return true;
  }
  return new Promise((resolve) => {
    const onAbort = () => {
      const at = waitingForReader.indexOf(grant);
      if (at >= 0) waitingForReader.splice(at, 1);
      resolve(false);
    };
    const grant = () => {
      signal?.removeEventListener('abort', onAbort);
      runningReaders += 1;
      resolve(true);
    };
    waitingForReader.push(grant);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function releaseReader(): void {
  runningReaders -= 1;
  waitingForReader.shift()?.();
}

function tooLarge(unpackedBytes: number): Extraction {
  return { ok: false, reason: `it unpacks to ${humanBytes(unpackedBytes)}, more than the ${humanBytes(MAX_DOCX_UNPACKED_BYTES)} a document may` };
}

function describe(reply: Extract<ExtractReply, { ok: true }>, maxChars: number): Extraction {
  const notes: string[] = [];
  if (reply.pages !== undefined && reply.pagesRead !== undefined && reply.pagesRead < reply.pages) {
    notes.push(`only the first ${reply.pagesRead} of its ${reply.pages} pages were read`);
  }
  if (reply.cut) notes.push(`its text was cut at ${maxChars.toLocaleString('en')} characters`);
  if (reply.text === '') notes.push('no text was found in it (a scan or pictures only?)');
  return notes.length === 0 ? { ok: true, text: reply.text } : { ok: true, text: reply.text, note: notes.join('; ') };
}

function explain(outcome: RunOutcome, label: string, options: ExtractOptions): Extraction {
  if (outcome === 'timeout') return { ok: false, reason: `reading its text took longer than ${Math.max(1, Math.round(options.timeoutMs / 1000))} s` };
  if (outcome === 'memory') return { ok: false, reason: `reading it needed more than ${humanBytes(MAX_READER_MEMORY_BYTES)}` };
  if (outcome === 'cancelled') return { ok: false, reason: 'reading it was cancelled' };
  if (outcome === 'crashed') return { ok: false, reason: `its ${label} text could not be read` };
  if (outcome.ok) return describe(outcome, options.maxChars);
  if (outcome.problem === 'encrypted') return { ok: false, reason: `the ${label} is password-protected; send an unprotected copy` };
  if (outcome.problem === 'zip-bomb') return { ok: false, reason: 'it unpacks to more than it declares, as a zip bomb does' };
  if (outcome.problem === 'too-large') return tooLarge(outcome.declaredBytes ?? 0);
  return { ok: false, reason: `it is not a valid ${label} file (damaged, or not really a ${label})` };
}

/** Reads the text of a PDF or DOCX; every failure is a reason for the person who sent it. */
export async function extractText(format: 'pdf' | 'docx', bytes: Buffer, options: ExtractOptions): Promise<Extraction> {
  const label = format === 'pdf' ? 'PDF' : 'DOCX';
  if (format === 'docx') {
    // What the zip declares is checked here, cheaply; the child holds every part to it (docx-unpack.ts).
    const size = declaredUnpackedSize(bytes);
    if (!size.ok) return { ok: false, reason: 'it is not a valid DOCX file (damaged, or not a Word document)' };
    if (size.unpackedBytes > MAX_DOCX_UNPACKED_BYTES) return tooLarge(size.unpackedBytes);
  }
  const request: ExtractRequest = {
    format,
    bytes: new Uint8Array(bytes),
    maxPages: options.maxPages,
    maxChars: options.maxChars,
    maxUnpackedBytes: MAX_DOCX_UNPACKED_BYTES,
  };
  if (!(await acquireReader(options.signal))) return { ok: false, reason: 'reading it was cancelled' };
  let outcome: RunOutcome;
  try {
    outcome = await runExtraction(request, { timeoutMs: options.timeoutMs, maxMemoryBytes: MAX_READER_MEMORY_BYTES, signal: options.signal });
  } finally {
    releaseReader();
  }
  return explain(outcome, label, options);
}
