/**
 * Candidate texts to index for one chat turn. Each uses only what a chat memory has when a turn
 * is stored: its text, speaker, time, an attached image's caption, and earlier turns — never
 * later turns, answers or evidence.
 */
import type { LocomoTurn } from '../locomo-data.js';
import type { DocRecipe } from './harness.js';

const caption = (t: LocomoTurn): string => (t.caption ? ` [shared a photo: ${t.caption}]` : '');
/** "1:56 pm on 8 May, 2023" → "8 May, 2023": questions name days, months and years, not times. */
const date = (t: LocomoTurn): string => t.sessionDate.replace(/^.* on /, '');
const line = (t: LocomoTurn): string => `${t.speaker}: ${t.text}${caption(t)}`;

/** Up to `back` turns before `index` in the same session, oldest first. */
export function previous(index: number, turns: readonly LocomoTurn[], back = 1): LocomoTurn[] {
  const me = turns[index];
  const out: LocomoTurn[] = [];
  for (let i = index - 1; i >= 0 && out.length < back; i--) {
    const t = turns[i];
    if (!t || t.session !== me?.session) break;
    out.unshift(t);
  }
  return out;
}

const withPrevious = (back: number, head: (t: LocomoTurn) => string): DocRecipe => {
  return (t, i, turns) => `${head(t)}\n${previous(i, turns, back).map(line).join('\n')}`;
};

export const recipes = {
  text: (t) => t.text,
  caption_only: (t) => `${t.text}${caption(t)}`,
  speaker: (t) => `${t.speaker}: ${t.text}`,
  date_speaker: (t) => `${date(t)} ${t.speaker}: ${t.text}`,
  speaker_caption: line,
  date_speaker_caption: (t) => `${date(t)} ${line(t)}`,
  speaker_caption_prev: withPrevious(1, line),
  speaker_caption_prev2: withPrevious(2, line),
  date_speaker_caption_prev: withPrevious(1, (t) => `${date(t)} ${line(t)}`),
  date_speaker_caption_prev2: withPrevious(2, (t) => `${date(t)} ${line(t)}`),
  date_speaker_caption_prev3: withPrevious(3, (t) => `${date(t)} ${line(t)}`),
} satisfies Record<string, DocRecipe>;

export function recipe(name: string): DocRecipe {
  const found = (recipes as Record<string, DocRecipe | undefined>)[name];
  if (!found) throw new Error(`no recipe ${name}`);
  return found;
}
