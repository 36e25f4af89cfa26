import type { MemoryInput } from './types.js';

/** The text a memory is indexed under: what the embedder sees and what full-text search sees. */
export type Indexed = Pick<MemoryInput, 'text' | 'speaker' | 'context'>;

/** What the embedder sees: who said it and what was said. Dates and context blur the vector. */
export function vectorText(input: Indexed): string {
  return input.speaker === undefined ? input.text : `${input.speaker}: ${input.text}`;
}

const DAY_FORMAT = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

/**
 * What the full-text index sees: the day it happened (so "in May 2023" finds it), who said it,
 * the text, and its context (e.g. the turns before it). Measured on LoCoMo, the date and the
 * context are what lift keyword recall well above plain BM25 (bench/research/README.md).
 */
export function searchText(input: Indexed, createdAt: number): string {
  const said = `${DAY_FORMAT.format(createdAt)} ${vectorText(input)}`;
  return input.context === undefined || input.context === '' ? said : `${said}\n${input.context}`;
}

