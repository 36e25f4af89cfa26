/**
 * Runs in a worker thread (see extract.ts): reads the text of one PDF or DOCX and posts it back.
 * Kept apart from the main thread so that a hostile document can be stopped (terminate) and is
 * bounded in heap (resourceLimits) without taking the bot down.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { extractRequestSchema, type ExtractReply, type ExtractRequest } from './extract-protocol.js';

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
    return { ok: true, text: parts.join('\n\n'), pages: pdf.numPages, pagesRead };
  } finally {
    await pdf.destroy();
  }
}

async function docxText(request: ExtractRequest): Promise<ExtractReply> {
  const mammoth = await import('mammoth');
  const result = await mammoth.extractRawText({ buffer: Buffer.from(request.bytes.buffer, request.bytes.byteOffset, request.bytes.byteLength) });
  return { ok: true, text: result.value };
}

function failure(error: unknown): ExtractReply {
  const name = error instanceof Error ? error.name : '';
  if (name === 'PasswordException') return { ok: false, problem: 'encrypted' };
  return { ok: false, problem: 'unreadable' };
}

async function main(): Promise<void> {
  const request = extractRequestSchema.parse(workerData);
  let reply: ExtractReply;
  try {
    reply = request.format === 'pdf' ? await pdfText(request) : await docxText(request);
  } catch (error) {
    reply = failure(error);
  }
  parentPort?.postMessage(reply);
}

await main();
