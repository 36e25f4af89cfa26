/**
 * Bounded capture of a child's stdout or stderr. The pipe is always drained (a child blocked on
 * a full pipe would just sit until the timer), but only the head and the tail are kept.
 */
import { formatBytes } from '../builtin/files.js';

export const DEFAULT_HEAD_BYTES = 64 * 1024;
export const DEFAULT_TAIL_BYTES = 16 * 1024;

/** What was kept of one stream. */
export interface CapturedStream {
  head: Buffer;
  /** Bytes after the head, at most the tail limit; empty unless the head filled up. */
  tail: Buffer;
  totalBytes: number;
}

export class StreamCapture {
  readonly #headLimit: number;
  readonly #tailLimit: number;
  readonly #head: Buffer[] = [];
  #headBytes = 0;
  #tail = Buffer.alloc(0);
  #totalBytes = 0;

  constructor(headLimit = DEFAULT_HEAD_BYTES, tailLimit = DEFAULT_TAIL_BYTES) {
    this.#headLimit = headLimit;
    this.#tailLimit = tailLimit;
  }

  push(chunk: Buffer): void {
    this.#totalBytes += chunk.length;
    let rest = chunk;
    const room = this.#headLimit - this.#headBytes;
    if (room > 0) {
      const part = rest.subarray(0, room);
      this.#head.push(Buffer.from(part));
      this.#headBytes += part.length;
      rest = rest.subarray(part.length);
    }
    if (rest.length > 0) {
      const joined = Buffer.concat([this.#tail, rest]);
      this.#tail = Buffer.from(joined.subarray(Math.max(joined.length - this.#tailLimit, 0)));
    }
  }

  result(): CapturedStream {
    return { head: Buffer.concat(this.#head), tail: this.#tail, totalBytes: this.#totalBytes };
  }
}

/** Decodes bytes that may start in the middle of a UTF-8 sequence (the cut of a tail). */
function decodeFromCut(bytes: Buffer): string {
  let start = 0;
  // Continuation bytes are 10xxxxxx; a character is at most 4 bytes long.
  while (start < Math.min(bytes.length, 3) && ((bytes[start] ?? 0) & 0xc0) === 0x80) start++;
  return bytes.subarray(start).toString('utf8');
}

/** The section marker that follows starts its own line anyway. */
function withoutFinalNewline(text: string): string {
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * The stream as text of at most about `maxChars` characters: whole when it fits, else its start
 * (where programs print what matters first) and end (where tracebacks and summaries go), with
 * a note saying how much there was.
 */
export function renderStream(name: string, captured: CapturedStream, maxChars: number): string {
  const { head, tail, totalBytes } = captured;
  const whole = head.length + tail.length === totalBytes;
  const headText = whole ? Buffer.concat([head, tail]).toString('utf8') : head.toString('utf8');
  if (whole && headText.length <= maxChars) return headText === '' ? '(empty)' : withoutFinalNewline(headText);

  const tailText = whole ? headText : decodeFromCut(tail);
  const tailChars = Math.floor(maxChars / 4);
  let start = headText.slice(0, maxChars - tailChars);
  let end = tailText.slice(Math.max(tailText.length - tailChars, 0));
  // Half a surrogate pair is not valid text for the API.
  if (isHighSurrogate(start.charCodeAt(start.length - 1))) start = start.slice(0, -1);
  if (isLowSurrogate(end.charCodeAt(0))) end = end.slice(1);
  const note = `[… ${name} truncated: it was ${formatBytes(totalBytes)}; showing the first ${start.length} and the last ${end.length} characters …]`;
  return `${start}\n${note}\n${withoutFinalNewline(end)}`;
}
