import { STOP_WORDS, tokenize } from './embedders/tokenize.js';
import type { MemoryRecord } from './types.js';

/** Words that say nothing about what a lesson is for ("questions about …", "when asked to …"). */
const GENERIC = new Set(['question', 'ask', 'asked', 'asking', 'about', 'request', 'user', 'task', 'when', 'goal', 'something', 'anything']);

/** Content words, plurals folded ("deploys" → "deploy"), generic and stop words dropped. */
export function contentWords(text: string): Set<string> {
  const words = new Set<string>();
  for (const token of tokenize(text)) {
    const word = token.length > 3 && token.endsWith('s') && !token.endsWith('ss') ? token.slice(0, -1) : token;
    if (!STOP_WORDS.has(token) && !GENERIC.has(word) && word.length > 1) words.add(word);
  }
  return words;
}

/**
 * Whether a lesson applies to a goal: the goal shares a content word with what the lesson says it
 * applies to (its `appliesWhen`, or for an approach the goal it worked for) — not with its
 * instruction, whose everyday verbs ("write", "report") would make it apply everywhere.
 */
export function lessonApplies(goal: string, lesson: MemoryRecord): boolean {
  const scope = lesson.metadata.appliesWhen;
  const target = contentWords(typeof scope === 'string' ? scope : lesson.text);
  for (const word of contentWords(goal)) if (target.has(word)) return true;
  return false;
}
