/**
 * Decompression bombs: a DOCX part that lies about its size, and a PDF whose FlateDecode stream
 * inflates to hundreds of MB. Each is refused with a reason, and the bot's own process does not
 * grow (before the fix it did: mammoth/JSZip and pdf.js inflate outside the V8 heap, so a worker
 * thread's heap limit never applied, and the RSS went up by the inflated size).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchAttachments, refusalText, type FetchAttachmentsOptions } from '../../src/files/index.js';
import { flateBombPdf, lyingDocx } from './bombs.js';
import { startFakeCdn, type FakeCdn } from './fake-cdn.js';
import { limits, ref } from './helpers.js';

const MIB = 1024 * 1024;
/** Far under what inflating either bomb in this process costs (300 and 400 MB), far over noise. */
const MAX_GROWTH_BYTES = 200 * MIB;

let cdn: FakeCdn;
beforeAll(async () => { cdn = await startFakeCdn(); });
afterAll(async () => { await cdn.close(); });

function served(name: string, bytes: Buffer) {
  const path = `/attachments/9/${String(Math.random()).slice(2)}/${name}`;
  cdn.file(path, bytes);
  return ref(name, cdn.url(path), bytes.length);
}

function options(): FetchAttachmentsOptions {
  return { cdnOrigins: [cdn.origin], limits: limits({ extractTimeoutMs: 60_000 }) };
}

/** Runs `work`, sampling this process's RSS meanwhile; returns its result and the peak growth. */
async function peakGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 10);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, growth: peak - before };
  } finally {
    clearInterval(sampler);
  }
}

/** Live child processes of this one (Linux /proc, proc(5): field 4 of stat is the parent pid). */
function children(): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[1] === String(process.pid) && fields[0] !== 'Z') found.push(Number(entry));
    } catch {
      // It exited while being read.
    }
  }
  return found;
}

describe('decompression bombs', () => {
  it('refuses a DOCX whose part declares 1,000 bytes and inflates to 300 MB, without the bot growing', async () => {
    const bomb = await lyingDocx(300);
    const { result, growth } = await peakGrowth(() => fetchAttachments([served('report.docx', bomb)], options()));
    expect(result.files).toEqual([]);
    expect(result.refused.map(refusalText)).toEqual(['report.docx: it unpacks to more than it declares, as a zip bomb does']);
    expect(growth).toBeLessThan(MAX_GROWTH_BYTES);
  }, 60_000);

  it('refuses a PDF whose FlateDecode content stream inflates to 400 MB, without the bot growing', async () => {
    const bomb = await flateBombPdf(400);
    const { result, growth } = await peakGrowth(() => fetchAttachments([served('report.pdf', bomb)], options()));
    expect(result.files).toEqual([]);
    expect(result.refused.map(refusalText)).toEqual(['report.pdf: reading it needed more than 512 MB']);
    expect(growth).toBeLessThan(MAX_GROWTH_BYTES);
  }, 60_000);

  it.runIf(process.platform === 'linux')('leaves no reading process behind, whatever became of the document', async () => {
    const bomb = await flateBombPdf(400);
    const controller = new AbortController();
    const reading = fetchAttachments([served('report.pdf', bomb)], { ...options(), signal: controller.signal });
    // Cancelled while the child is reading (it starts within moments of the download).
    while (children().length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    const result = await reading;
    expect(result.refused.map(refusalText)).toEqual(['report.pdf: reading it was cancelled']);
    for (let tries = 0; tries < 50 && children().length > 0; tries += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(children()).toEqual([]);
  }, 60_000);
});
