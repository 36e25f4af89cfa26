/**
 * The summary a full conversation offers to continue from: its first turn (what it set out to do)
 * and as many of its latest turns as fit, each shortened to one line. Made from the stored turns
 * alone (no model call, nothing to pay), so it works whatever the model server's state.
 */
import { oneLine } from '../text.js';
import { safeName } from './history.js';
import type { Turn } from './types.js';

const LINE_CHARS = 220;

export function summarizeTurns(turns: readonly Turn[], maxChars = 1_500): string {
  const line = (t: Turn) => `- ${t.role === 'assistant' ? 'Cairn' : safeName(t.authorName)}: ${oneLine(t.text, LINE_CHARS)}`;
  const [first, ...rest] = turns;
  if (first === undefined) return '(nothing was said)';
  const head = line(first);
  const tail: string[] = [];
  let used = head.length;
  // The newest turns first, until the summary is full; shown in order.
  for (let i = rest.length - 1; i >= 0; i--) {
    const turn = rest[i];
    if (turn === undefined) break;
    const next = line(turn);
    if (used + next.length + 40 > maxChars) break;
    used += next.length + 1;
    tail.unshift(next);
  }
  const skipped = rest.length - tail.length;
  return [head, ...(skipped > 0 ? [`- (${skipped} ${skipped === 1 ? 'turn' : 'turns'} in between)`] : []), ...tail].join('\n');
}
