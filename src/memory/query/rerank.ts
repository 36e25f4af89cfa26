import { tokenize } from '../embedders/tokenize.js';
import type { RecallFeatures } from './features.js';
import { contentStems } from './terms.js';
import type { TimeWindow } from './time-window.js';

/** What a query tells the reranker, worked out once per recall. */
export interface QueryAnalysis {
  /** Every word of the query, lower-case (names included, which keywordQuery keeps too). */
  words: ReadonlySet<string>;
  /** Content words, stemmed. */
  stems: ReadonlySet<string>;
  window: TimeWindow | undefined;
}

export interface RerankCandidate {
  id: string;
  /** The fused (and recency/importance-boosted) score. */
  score: number;
  createdAt: number;
  speaker: string | null;
  text: string;
}

export interface Reranked {
  id: string;
  score: number;
  /** The multiplier this stage applied (1 = none). */
  factor: number;
}

const DAY_MS = 86_400_000;

/** True when some word of the speaker's name appears in the query ("What did Ana say…"). */
function namesSpeaker(analysis: QueryAnalysis, speaker: string | null): boolean {
  if (speaker === null) return false;
  return tokenize(speaker).some((part) => part.length > 1 && analysis.words.has(part));
}

/** Share of the query's content words that the memory says itself (stemmed). */
function ownWordsShare(analysis: QueryAnalysis, text: string): number {
  if (analysis.stems.size === 0) return 0;
  const own = contentStems(text);
  let found = 0;
  for (const s of analysis.stems) if (own.has(s)) found++;
  return found / analysis.stems.size;
}

/**
 * A cheap second look at the fused candidates (tens to a hundred, already in memory): features a
 * rank fusion cannot see. Each is a gentle multiplier, so a strong match without them still wins.
 * Then, when asked, a greedy pass spreads the top over days (questions whose answer is pieced
 * together from several conversations).
 */
export function rerank(candidates: readonly RerankCandidate[], analysis: QueryAnalysis, features: RecallFeatures): Reranked[] {
  const scored = candidates.map((c) => {
    let factor = 1;
    if (features.speakerBoost > 0 && namesSpeaker(analysis, c.speaker)) factor *= 1 + features.speakerBoost;
    if (features.ownWordsBoost > 0) factor *= 1 + features.ownWordsBoost * ownWordsShare(analysis, c.text);
    const w = analysis.window;
    if (features.timeBoost > 0 && w !== undefined && c.createdAt >= w.since && c.createdAt < w.until) factor *= 1 + features.timeBoost;
    return { id: c.id, score: c.score * factor, factor, day: Math.floor(c.createdAt / DAY_MS) };
  });
  scored.sort((a, b) => b.score - a.score);
  if (features.dayDiversity <= 0) return scored.map(({ id, score, factor }) => ({ id, score, factor }));
  return spreadOverDays(scored, features.dayDiversity);
}

function spreadOverDays(scored: { id: string; score: number; factor: number; day: number }[], penalty: number): Reranked[] {
  const picked: Reranked[] = [];
  const perDay = new Map<number, number>();
  const left = [...scored];
  while (left.length > 0) {
    let best = 0;
    let bestScore = -Infinity;
    for (let i = 0; i < left.length; i++) {
      const c = left[i];
      if (c === undefined) continue;
      const s = c.score * (1 - penalty) ** (perDay.get(c.day) ?? 0);
      if (s > bestScore) {
        bestScore = s;
        best = i;
      }
    }
    const [c] = left.splice(best, 1);
    if (c === undefined) break;
    perDay.set(c.day, (perDay.get(c.day) ?? 0) + 1);
    picked.push({ id: c.id, score: bestScore, factor: c.factor * (bestScore / (c.score || 1)) });
  }
  return picked;
}
