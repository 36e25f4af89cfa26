/**
 * What a downloaded file is, decided from its bytes (magic numbers, via `file-type`) and then its
 * extension. Discord's content type is the sender's claim and is not trusted.
 */
import { fileTypeFromBuffer } from 'file-type';

export const ACCEPTED_TYPES_TEXT = 'Cairn takes text, code, CSV, JSON, Markdown, PDF, DOCX and images';

export type Classified =
  | { kind: 'text'; mimeType: string; /** UTF-8 (UTF-16 input is re-encoded). */ bytes: Buffer }
  | { kind: 'image'; mimeType: string }
  | { kind: 'document'; format: 'pdf' | 'docx'; mimeType: string }
  | { refused: string };

const IMAGE_TYPES: Record<string, string> = {
  'image/png': 'image/png',
  'image/apng': 'image/png',
  'image/jpeg': 'image/jpeg',
  'image/gif': 'image/gif',
  'image/webp': 'image/webp',
};

const PDF_MIME = 'application/pdf';
const DOCX_MIME = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

const TEXT_MIME_BY_EXTENSION: Record<string, string> = {
  txt: 'text/plain', log: 'text/plain', md: 'text/markdown', markdown: 'text/markdown',
  csv: 'text/csv', tsv: 'text/tab-separated-values', json: 'application/json', jsonl: 'application/jsonl',
  ndjson: 'application/jsonl', yaml: 'application/yaml', yml: 'application/yaml', xml: 'application/xml',
  html: 'text/html', htm: 'text/html', css: 'text/css', js: 'text/javascript', mjs: 'text/javascript',
  svg: 'image/svg+xml', toml: 'application/toml', sql: 'application/sql', ics: 'text/calendar',
};

/** Extensions that say "this is text": a file named so that fails to decode is told why. */
const TEXT_EXTENSIONS = new Set([
  ...Object.keys(TEXT_MIME_BY_EXTENSION),
  'ts', 'tsx', 'jsx', 'py', 'rb', 'go', 'rs', 'java', 'kt', 'c', 'h', 'cpp', 'hpp', 'cs', 'php', 'sh',
  'ini', 'cfg', 'conf', 'env', 'tex', 'rst', 'srt', 'vtt', 'r', 'swift', 'lua', 'pl', 'scala', 'dart',
]);

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
}

function unsupported(mime: string): { refused: string } {
  return { refused: `unsupported type (${mime}); ${ACCEPTED_TYPES_TEXT}` };
}

/** Decodes UTF-8 (or UTF-16 with a byte-order mark) strictly; undefined for anything else. */
function decodeText(bytes: Buffer): string | undefined {
  const bom16 = bytes.length >= 2 ? bytes.readUInt16BE(0) : 0;
  const encoding = bom16 === 0xfffe ? 'utf-16le' : bom16 === 0xfeff ? 'utf-16be' : 'utf-8';
  try {
    return new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** Valid UTF-8 can still be binary (a run of NULs is valid UTF-8): text has few control characters. */
function looksLikeText(text: string): boolean {
  if (text.includes('\u0000')) return false;
  const controls = text.match(/[\p{Cc}]/gu)?.filter((c) => !'\t\n\r\f\v\u001b'.includes(c)).length ?? 0;
  return controls <= text.length / 100;
}

function classifyText(name: string, bytes: Buffer, sniffedMime: string | undefined): Classified {
  const extension = extensionOf(name);
  const text = decodeText(bytes);
  if (text === undefined || !looksLikeText(text)) {
    if (sniffedMime === undefined && !TEXT_EXTENSIONS.has(extension)) return unsupported('application/octet-stream');
    return { refused: 'it is not UTF-8 text (save it as UTF-8 and send it again)' };
  }
  const mimeType = TEXT_MIME_BY_EXTENSION[extension] ?? sniffedMime ?? 'text/plain';
  return { kind: 'text', mimeType, bytes: Buffer.from(text, 'utf8') };
}

function hasUtf16Mark(bytes: Buffer): boolean {
  return bytes.length >= 2 && (bytes.readUInt16BE(0) === 0xfffe || bytes.readUInt16BE(0) === 0xfeff);
}

export async function classify(name: string, bytes: Buffer): Promise<Classified> {
  // FF FE also opens an MPEG audio frame: UTF-16 text is tried before the magic numbers.
  if (hasUtf16Mark(bytes)) {
    const asText = classifyText(name, bytes, undefined);
    if (!('refused' in asText)) return asText;
  }
  const sniffed = await fileTypeFromBuffer(bytes);
  const extension = extensionOf(name);
  if (sniffed === undefined) return classifyText(name, bytes, undefined);
  const image = IMAGE_TYPES[sniffed.mime];
  if (image !== undefined) return { kind: 'image', mimeType: image };
  if (sniffed.mime === PDF_MIME) return { kind: 'document', format: 'pdf', mimeType: PDF_MIME };
  // A DOCX is a zip; file-type names it docx only when its parts come in the usual order.
  if (sniffed.mime === DOCX_MIME || (sniffed.mime === 'application/zip' && extension === 'docx')) {
    return { kind: 'document', format: 'docx', mimeType: DOCX_MIME };
  }
  if (sniffed.mime.startsWith('text/') || sniffed.mime === 'application/xml') return classifyText(name, bytes, sniffed.mime);
  if (sniffed.mime === 'application/x-cfb' && extension === 'doc') {
    return { refused: 'old Word .doc files are not supported; save it as DOCX or PDF and send it again' };
  }
  return unsupported(sniffed.mime);
}
