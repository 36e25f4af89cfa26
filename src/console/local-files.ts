/**
 * `cairn run --file <path>`: local files read the way the Discord intake reads attachments
 * (src/files: kind from the bytes, text out of PDFs and DOCX, the same names and limits), so a
 * run from the terminal sees a file exactly as one from Discord would.
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import { classify } from '../files/classify.js';
import { extractText } from '../files/extract.js';
import { DEFAULT_FILE_LIMITS, humanBytes } from '../files/limits.js';
import { sanitiseFileName, uniqueFileName } from '../files/names.js';
import type { IncomingFile } from '../files/types.js';

/** As many as /agent takes. */
export const MAX_CLI_FILES = DEFAULT_FILE_LIMITS.maxFiles;

/** A file that cannot be used, in words for the person at the terminal. */
export class LocalFileError extends Error {
  override name = 'LocalFileError';
}

/** Reads at most `max` bytes; more means the file is over the limit (a growing file is caught too). */
async function readBounded(file: string, max: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new LocalFileError(`${file} is not a regular file.`);
    if (stats.size > max) throw new LocalFileError(`${file} is ${humanBytes(stats.size)}, larger than the ${humanBytes(max)} limit per file.`);
    const buffer = Buffer.alloc(max + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > max) throw new LocalFileError(`${file} is larger than the ${humanBytes(max)} limit per file.`);
    }
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}

function errno(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** The files for a run, in the order given; the first problem stops the command with its reason. */
export async function readLocalFiles(paths: readonly string[], signal?: AbortSignal): Promise<IncomingFile[]> {
  const limits = DEFAULT_FILE_LIMITS;
  if (paths.length > MAX_CLI_FILES) throw new LocalFileError(`--file is given ${paths.length} times; a run takes at most ${MAX_CLI_FILES} files.`);
  const taken = new Set<string>();
  const files: IncomingFile[] = [];
  let total = 0;
  for (const given of paths) {
    let bytes: Buffer;
    try {
      bytes = await readBounded(given, limits.maxFileBytes);
    } catch (error) {
      if (error instanceof LocalFileError) throw error;
      const code = errno(error);
      throw new LocalFileError(code === 'ENOENT' ? `${given} does not exist.` : code === 'EISDIR' ? `${given} is a directory.` : `${given} cannot be read (${code ?? 'unknown error'}).`);
    }
    total += bytes.length;
    if (total > limits.maxTotalBytes) throw new LocalFileError(`The files are larger than the ${humanBytes(limits.maxTotalBytes)} limit for one run together.`);
    let name = uniqueFileName(sanitiseFileName(path.basename(given)), taken);
    const type = await classify(name, bytes);
    if ('refused' in type) throw new LocalFileError(`${given}: ${type.refused}`);
    if (type.kind === 'text') {
      files.push({ name, kind: 'text', mimeType: type.mimeType, bytes: type.bytes });
      continue;
    }
    if (type.kind === 'image') {
      files.push({ name, kind: 'image', mimeType: type.mimeType, bytes });
      continue;
    }
    const extracted = await extractText(type.format, bytes, {
      maxPages: limits.maxPdfPages,
      maxChars: limits.maxExtractedChars,
      timeoutMs: limits.extractTimeoutMs,
      ...(signal === undefined ? {} : { signal }),
    });
    if (!extracted.ok) throw new LocalFileError(`${given}: ${extracted.reason}`);
    // Its text goes beside it as `<name>.txt`: that name must be free too.
    while (taken.has(`${name}.txt`.toLowerCase())) name = uniqueFileName(name, taken);
    taken.add(`${name}.txt`.toLowerCase());
    files.push({ name, kind: 'document', mimeType: type.mimeType, bytes, extractedText: extracted.text });
  }
  return files;
}
