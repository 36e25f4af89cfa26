/**
 * A conversation's turns as the prompt's earlier messages, within a token budget. Oldest turns are
 * condensed first (each to its beginning, on one line, in a digest ahead of the newer turns), then
 * left out from the oldest on — but the first turn (a run's goal) stays as long as anything does.
 * Each person's turns are attributed: when several people speak, every turn says who wrote it and
 * whether it is the person being answered; what others wrote is marked, so it never passes for the
 * caller's own words (src/agent/exposure.ts).
 */
import { estimateTextTokens, estimateTokens } from '../llm/tokens.js';
import type { ChatMessage } from '../llm/types.js';
import { oneLine } from '../text.js';
import type { TurnRole } from './types.js';

/** What the builder needs of a turn. */
export interface HistoryTurn {
  role: TurnRole;
  authorId: string;
  authorName: string;
  text: string;
}

export interface HistoryOptions {
  /** The person being answered: their turns are their own words, everyone else's are others'. */
  viewerId: string;
  budgetTokens: number;
  /** Characters of a condensed turn of a person (default 160); Cairn's get half (see below). */
  condensedChars?: number;
}

export interface BuiltHistory {
  /** Earlier messages, oldest first; consecutive turns of one role share a message. */
  messages: ChatMessage[];
  /** Indexes of `messages` holding words of someone other than the viewer. */
  fromOthers: number[];
  /** Turns shown whole, condensed and left out. */
  whole: number;
  condensed: number;
  omitted: number;
  /** Several people spoke, so turns carry their authors' names. */
  shared: boolean;
  tokens: number;
}

export const CONDENSED_HEADER = "[Earlier in this conversation, condensed to each turn's beginning]";
const DEFAULT_CONDENSED_CHARS = 160;
/**
 * Cairn's answers are condensed harder than people's turns: they run long, and their gist comes
 * first, while a person's short message is often all of what they asked or told.
 */
const ANSWER_SHARE = 0.5;
/** Framing the token estimate adds per message (src/llm/tokens.ts). */
const MESSAGE_FRAMING_CHARS = 16;

/** A display name that cannot pass for this prompt's own markup. */
export function safeName(name: string): string {
  const clean = oneLine(name.replace(/[[\]·:<>#*`]/g, ''), 40);
  return clean === '' ? 'someone' : clean;
}

interface Rendered {
  role: TurnRole;
  other: boolean;
  whole: string;
  line: string;
  wholeTokens: number;
  lineTokens: number;
}

function render(turns: readonly HistoryTurn[], viewerId: string, chars: number): { rendered: Rendered[]; shared: boolean } {
  const shared = turns.some((t) => t.role === 'user' && t.authorId !== viewerId);
  const rendered = turns.map((t): Rendered => {
    const other = t.role === 'user' && t.authorId !== viewerId;
    const label = t.role === 'assistant' ? 'Cairn' : shared ? `${safeName(t.authorName)} · ${other ? 'another person' : 'the user'}` : 'the user';
    const whole = t.role === 'user' && shared ? `[${label}] ${t.text}` : t.text;
    const line = `- ${label}: ${oneLine(t.text, t.role === 'assistant' ? Math.round(chars * ANSWER_SHARE) : chars)}`;
    return { role: t.role, other, whole, line, wholeTokens: estimateTextTokens(whole.length + MESSAGE_FRAMING_CHARS), lineTokens: estimateTextTokens(line.length + 1) };
  });
  return { rendered, shared };
}

const omittedNote = (n: number) => `[${n} ${n === 1 ? 'turn' : 'turns'} left out here]`;

/**
 * The shown turns: [w, n) whole; [c, w) condensed; turn 0 condensed too while `pin` (when c > 0).
 * Cost is kept as running sums, so fitting is linear in the number of turns.
 */
export function buildHistory(turns: readonly HistoryTurn[], options: HistoryOptions): BuiltHistory {
  const { rendered, shared } = render(turns, options.viewerId, options.condensedChars ?? DEFAULT_CONDENSED_CHARS);
  const n = rendered.length;
  const headerTokens = estimateTextTokens(CONDENSED_HEADER.length + MESSAGE_FRAMING_CHARS);
  const noteTokens = estimateTextTokens(omittedNote(n).length + 1);
  let w = 0;
  let c = 0;
  let pin = true;
  let wholeSum = rendered.reduce((sum, r) => sum + r.wholeTokens, 0);
  let lineSum = 0;
  const cost = () => {
    const pinned = pin && c > 0;
    const digest = c < w || pinned;
    return wholeSum + (digest ? headerTokens + lineSum : 0) + (pinned ? (rendered[0]?.lineTokens ?? 0) : 0) + (c > (pinned ? 1 : 0) ? noteTokens : 0);
  };
  // 1. Condense from the oldest, keeping the newest turn whole.
  while (cost() > options.budgetTokens && w < n - 1) {
    const r = rendered[w];
    if (r === undefined) break;
    wholeSum -= r.wholeTokens;
    lineSum += r.lineTokens;
    w += 1;
  }
  // 2. Leave condensed turns out from the oldest, the first turn pinned while others remain.
  while (cost() > options.budgetTokens && c < w) {
    const r = rendered[c];
    if (r === undefined) break;
    lineSum -= r.lineTokens;
    // Turn 0 leaving the range saves nothing: it stays pinned (costed apart) until nothing else is left.
    c += 1;
  }
  if (cost() > options.budgetTokens && c > 0) pin = false;
  return assemble(rendered, { w, c, pin: pin && c > 0, shared, budgetTokens: options.budgetTokens });
}

function assemble(rendered: Rendered[], shown: { w: number; c: number; pin: boolean; shared: boolean; budgetTokens: number }): BuiltHistory {
  const { w, c, pin } = shown;
  const parts: { role: TurnRole; content: string; other: boolean }[] = [];
  const digest: string[] = [];
  let digestOther = false;
  let condensed = 0;
  if (pin && rendered[0] !== undefined) {
    digest.push(rendered[0].line);
    digestOther ||= rendered[0].other;
    condensed += 1;
  }
  const omitted = c - (pin ? 1 : 0);
  if (omitted > 0) digest.push(omittedNote(omitted));
  for (const r of rendered.slice(c, w)) {
    digest.push(r.line);
    digestOther ||= r.other;
    condensed += 1;
  }
  if (condensed > 0) parts.push({ role: 'user', content: [CONDENSED_HEADER, ...digest].join('\n'), other: digestOther });
  let newest = rendered.slice(w);
  // The newest turn alone over the budget: cut to what fits.
  const last = newest.at(-1);
  if (newest.length === 1 && last !== undefined && last.wholeTokens > shown.budgetTokens) {
    const keep = Math.max(200, (shown.budgetTokens - estimateTextTokens(MESSAGE_FRAMING_CHARS)) * 4 - 20);
    newest = [{ ...last, whole: `${last.whole.slice(0, keep)} … [shortened]` }];
  }
  for (const r of newest) parts.push({ role: r.role, content: r.whole, other: r.other });

  // Consecutive turns of one role share a message: some chat templates insist on alternation.
  const messages: ChatMessage[] = [];
  const fromOthers: number[] = [];
  for (const part of parts) {
    const previous = messages.at(-1);
    if (previous !== undefined && previous.role === part.role && previous.content !== null) {
      previous.content = `${previous.content}\n\n${part.content}`;
    } else {
      messages.push(part.role === 'user' ? { role: 'user', content: part.content } : { role: 'assistant', content: part.content });
    }
    if (part.other && fromOthers.at(-1) !== messages.length - 1) fromOthers.push(messages.length - 1);
  }
  return { messages, fromOthers, whole: rendered.length - w, condensed, omitted: Math.max(0, omitted), shared: shown.shared, tokens: estimateTokens(messages) };
}
