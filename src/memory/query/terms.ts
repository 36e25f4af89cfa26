import { STOP_WORDS, tokenize } from '../embedders/tokenize.js';

/**
 * A light suffix stripper, enough to match "camping"/"camped"/"camps" and "stories"/"story" when
 * comparing a question's words with a memory's own words. Not a full stemmer: both sides go
 * through the same function, so only consistency matters.
 */
export function stem(word: string): string {
  if (word.length <= 3 || /\d/.test(word)) return word;
  if (word.endsWith('ies') && word.length > 4) return `${word.slice(0, -3)}y`;
  if (word.endsWith('ing') && word.length > 5) return word.slice(0, -3);
  if (word.endsWith('ed') && word.length > 4) return word.slice(0, -2);
  if (word.endsWith('es') && word.length > 4 && /(?:ss|sh|ch|x|z)es$/.test(word)) return word.slice(0, -2);
  if (word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

/** The content words of a text, stemmed, once each. */
export function contentStems(text: string): Set<string> {
  const out = new Set<string>();
  for (const token of tokenize(text)) if (!STOP_WORDS.has(token)) out.add(stem(token));
  return out;
}
