/**
 * Runs in a child process (see extract-runner.ts): reads the text of one PDF or DOCX sent over IPC
 * and sends it back. A process, not a thread, so that everything a hostile document makes the
 * readers allocate (typed arrays outside the V8 heap included) is measured and killed apart from
 * the bot.
 */
import { writeFileSync } from 'node:fs';
import process from 'node:process';
import { unpackZip, storedZip } from './docx-unpack.js';
import { extractRequestSchema, type ExtractReply, type ExtractRequest } from './extract-protocol.js';
import { cutText } from './text-cut.js';

/** Text of one PDF page: pdf.js text items, with the line ends it marks. */
interface TextItemLike { str?: unknown; hasEOL?: unknown }

async function pdfText(request: ExtractRequest): Promise<ExtractReply> {
  const { getDocumentProxy } = await import('unpdf');
  const pdf = await getDocumentProxy(request.bytes, { verbosity: 0, isEvalSupported: false, stopAtErrors: false });
  try {
    const pagesRead = Math.min(pdf.numPages, request.maxPages);
    const parts: string[] = [];
    let length = 0;
    for (let number = 1; number <= pagesRead && length <= request.maxChars; number += 1) {
      const page = await pdf.getPage(number);
      const content = await page.getTextContent();
      const items = content.items as TextItemLike[];
      const text = items.map((item) => (typeof item.str === 'string' ? item.str : '') + (item.hasEOL === true ? '\n' : '')).join('');
      parts.push(text);
      length += text.length;
      page.cleanup();
    }
    return { ok: true, ...cutText(parts.join('\n\n'), request.maxChars), pages: pdf.numPages, pagesRead };
  } finally {
    await pdf.destroy();
  }
}

async function docxText(request: ExtractRequest): Promise<ExtractReply> {
  const unpacked = unpackZip(Buffer.from(request.bytes.buffer, request.bytes.byteOffset, request.bytes.byteLength), request.maxUnpackedBytes);
  if (!unpacked.ok) {
    if (unpacked.problem === 'lies') return { ok: false, problem: 'zip-bomb' };
    if (unpacked.problem === 'too-large') return { ok: false, problem: 'too-large', declaredBytes: unpacked.declaredBytes ?? 0 };
    return { ok: false, problem: 'unreadable' };
  }
  const mammoth = await import('mammoth');
  const result = await mammoth.extractRawText({ buffer: storedZip(unpacked.parts) });
  return { ok: true, ...cutText(result.value, request.maxChars) };
}

function failure(error: unknown): ExtractReply {
  const name = error instanceof Error ? error.name : '';
  if (name === 'PasswordException') return { ok: false, problem: 'encrypted' };
  return { ok: false, problem: 'unreadable' };
}

async function reply(message: unknown): Promise<void> {
  let answer: ExtractReply;
  try {
    const request = extractRequestSchema.parse(message);
    answer = request.format === 'pdf' ? await pdfText(request) : await docxText(request);
  } catch (error) {
    answer = failure(error);
  }
  // Exits once the reply is out: pdf.js may leave timers behind, and one child reads one document.
  process.send?.(answer, () => process.exit(0));
}

// Should memory run out before the watchdog looks, the kernel's OOM killer takes this process, not the
// bot (Linux proc(5): raising one's own oom_score_adj needs no privilege; elsewhere there is none).
try {
  writeFileSync('/proc/self/oom_score_adj', '1000');
} catch {
  // Not Linux, or /proc is not mounted: the watchdog and heap limit remain.
}

process.once('message', (message: unknown) => { void reply(message); });
// The bot went away (or gave up on this document): nothing is waiting for the text.
process.once('disconnect', () => process.exit(0));
