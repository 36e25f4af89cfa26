/**
 * Files in: Discord attachments downloaded from Discord's CDN only, within limits, recognised
 * from their bytes, text read out of PDFs and DOCX. Each file is taken or refused on its own, with
 * a reason in words for the person who sent it; one bad file never fails the others.
 */
import { z } from 'zod';
import { classify } from './classify.js';
import { download } from './download.js';
import { extractText } from './extract.js';
import { humanBytes, type FileLimits } from './limits.js';
import { sanitiseFileName, uniqueFileName } from './names.js';
import { isAllowedAttachmentUrl } from './origins.js';
import type { AttachmentRef, FileRefusal, IncomingFile, Intake } from './types.js';

export interface FetchAttachmentsOptions {
  /** Origins attachments may come from (config.files.cdnOrigins). */
  cdnOrigins: readonly string[];
  limits: FileLimits;
  /** The run's signal: cancelling it stops downloads and reading. */
  signal?: AbortSignal;
  /** For tests and proxies; defaults to the global fetch. */
  fetchImpl?: typeof fetch;
}

// Discord's attachment object (https://discord.com/developers/docs/resources/message#attachment-object):
// the fields are untrusted and checked before use.
const attachmentRefSchema = z.object({
  name: z.string(),
  url: z.string().max(4096),
  size: z.number(),
  contentType: z.string().nullable(),
});

/** "name: reason", the way a refusal is shown to people. */
export function refusalText(refusal: FileRefusal): string {
  return `${refusal.name}: ${refusal.reason}`;
}

interface Budget { remainingBytes: number }

async function takeOne(ref: AttachmentRef, name: string, options: FetchAttachmentsOptions, budget: Budget): Promise<Omit<IncomingFile, 'name'> | { reason: string }> {
  const { limits } = options;
  if (!isAllowedAttachmentUrl(ref.url, options.cdnOrigins)) return { reason: 'not a Discord attachment URL' };
  const perFile = `the ${humanBytes(limits.maxFileBytes)} limit per file`;
  const whatIsLeft = `the ${humanBytes(budget.remainingBytes)} left of the ${humanBytes(limits.maxTotalBytes)} limit per message`;
  const maxBytes = Math.min(limits.maxFileBytes, budget.remainingBytes);
  const limitText = maxBytes < limits.maxFileBytes ? whatIsLeft : perFile;
  // What Discord reported is checked first, so that an honest large file is never downloaded.
  if (Number.isFinite(ref.size) && ref.size > maxBytes) return { reason: `it is ${humanBytes(ref.size)}, larger than ${limitText}` };
  const fetched = await download(ref.url, {
    maxBytes,
    limitText,
    timeoutMs: limits.downloadTimeoutMs,
    fetchImpl: options.fetchImpl ?? fetch,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (!fetched.ok) return { reason: fetched.reason };
  budget.remainingBytes -= fetched.bytes.length;
  const type = await classify(name, fetched.bytes);
  if ('refused' in type) return { reason: type.refused };
  if (type.kind === 'text') return { kind: 'text', mimeType: type.mimeType, bytes: type.bytes };
  if (type.kind === 'image') return { kind: 'image', mimeType: type.mimeType, bytes: fetched.bytes };
  const extracted = await extractText(type.format, fetched.bytes, {
    maxPages: limits.maxPdfPages,
    maxChars: limits.maxExtractedChars,
    timeoutMs: limits.extractTimeoutMs,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (!extracted.ok) return { reason: extracted.reason };
  return {
    kind: 'document',
    mimeType: type.mimeType,
    bytes: fetched.bytes,
    extractedText: extracted.text,
    ...(extracted.note === undefined ? {} : { note: extracted.note }),
  };
}

/**
 * A document's text is written beside it as `<name>.txt`: that name must be free too (an earlier
 * file may hold it; later ones see it taken).
 */
function documentName(name: string, taken: Set<string>): string {
  let chosen = name;
  while (taken.has(`${chosen}.txt`.toLowerCase())) chosen = uniqueFileName(name, taken);
  taken.add(`${chosen}.txt`.toLowerCase());
  return chosen;
}

/**
 * Downloads and reads `refs` in order, one at a time (the total limit is counted as they come).
 * The first `limits.maxFiles` are tried; the rest are refused by name. Never throws for a file.
 */
export async function fetchAttachments(refs: readonly AttachmentRef[], options: FetchAttachmentsOptions): Promise<Intake> {
  const files: IncomingFile[] = [];
  const refused: FileRefusal[] = [];
  const taken = new Set<string>();
  const budget: Budget = { remainingBytes: options.limits.maxTotalBytes };
  for (const [index, raw] of refs.entries()) {
    const parsed = attachmentRefSchema.safeParse(raw);
    const name = uniqueFileName(sanitiseFileName(parsed.success ? parsed.data.name : 'file'), taken);
    if (!parsed.success) {
      refused.push({ name, reason: 'Discord described it in a way Cairn could not read' });
      continue;
    }
    if (index >= options.limits.maxFiles) {
      refused.push({ name, reason: `one file too many: Cairn takes ${options.limits.maxFiles} per message` });
      continue;
    }
    if (options.signal?.aborted === true) {
      refused.push({ name, reason: 'the run was cancelled before it was read' });
      continue;
    }
    const result = await takeOne(parsed.data, name, options, budget);
    if ('reason' in result) {
      refused.push({ name, reason: result.reason });
      continue;
    }
    files.push({ name: result.extractedText === undefined ? name : documentName(name, taken), ...result });
  }
  return { files, refused };
}
