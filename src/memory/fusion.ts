import type { ScoreExplanation } from './types.js';

export interface VectorHit {
  id: string;
  /** Cosine distance as LanceDB reports it: 1 − cosine similarity. */
  distance: number;
}

export interface TextHit {
  id: string;
  /** BM25 score from LanceDB's full-text index. */
  score: number;
}

export interface FusionOptions {
  /** RRF constant: larger flattens the difference between top ranks (60 is the classic value). */
  k: number;
  /** Weight of each list in the fused score. */
  vectorWeight: number;
  textWeight: number;
}

/** k = 20 measured best on LoCoMo (flat between 10 and 30); the embedder may weight its list. */
export const DEFAULT_FUSION: FusionOptions = { k: 20, vectorWeight: 1, textWeight: 1 };

export type FusedScore = Omit<ScoreExplanation, 'boost' | 'final'>;

/**
 * Reciprocal rank fusion: each list contributes weight / (k + rank). Ranks, not raw scores, are
 * fused because cosine similarities and BM25 scores live on unrelated scales. Lists are
 * assumed best-first.
 */
export function reciprocalRankFusion(
  vectorHits: readonly VectorHit[],
  textHits: readonly TextHit[],
  options: FusionOptions = DEFAULT_FUSION,
): Map<string, FusedScore> {
  const fused = new Map<string, FusedScore>();
  const entry = (id: string): FusedScore => {
    let score = fused.get(id);
    if (score === undefined) {
      score = { vectorRank: null, similarity: null, textRank: null, bm25: null, fused: 0 };
      fused.set(id, score);
    }
    return score;
  };
  vectorHits.forEach((hit, index) => {
    const score = entry(hit.id);
    if (score.vectorRank !== null) return;
    score.vectorRank = index + 1;
    score.similarity = 1 - hit.distance;
    score.fused += options.vectorWeight / (options.k + index + 1);
  });
  textHits.forEach((hit, index) => {
    const score = entry(hit.id);
    if (score.textRank !== null) return;
    score.textRank = index + 1;
    score.bm25 = hit.score;
    score.fused += options.textWeight / (options.k + index + 1);
  });
  return fused;
}

export interface BoostInputs {
  ageMs: number;
  importance: number;
  /** Half-life of the recency bonus; undefined for none (pure relevance). */
  recencyHalfLifeMs: number | undefined;
  /** How much a brand-new memory gains over an old one (0.5 = up to +50 %). */
  recencyWeight: number;
}

/**
 * A gentle multiplier on relevance: recent memories rank a little higher when the caller asks for
 * recency (episodic recall), and importance (0..1, neutral 0.5) nudges by ±10 %.
 */
export function boostFor(inputs: BoostInputs): number {
  const importance = 0.9 + 0.2 * Math.min(1, Math.max(0, inputs.importance));
  if (inputs.recencyHalfLifeMs === undefined) return importance;
  const recency = 0.5 ** (Math.max(0, inputs.ageMs) / inputs.recencyHalfLifeMs);
  return importance * (1 + inputs.recencyWeight * recency);
}

/**
 * Adds one more full-text list (e.g. a rewritten query's matches) to fused scores, at its own
 * weight. A memory it finds that the first lists missed joins the candidates.
 */
export function fuseExtraList(fused: Map<string, FusedScore>, hits: readonly TextHit[], weight: number, k: number): void {
  hits.forEach((hit, index) => {
    let score = fused.get(hit.id);
    if (score === undefined) {
      score = { vectorRank: null, similarity: null, textRank: null, bm25: null, fused: 0 };
      fused.set(hit.id, score);
    }
    score.fused += weight / (k + index + 1);
  });
}
