import { z } from 'zod';
import type { ModelSpend } from '../llm/types.js';
import type { MemoryDb } from './db.js';
import { keywordQuery } from './embedders/tokenize.js';
import type { Embedder } from './embedders/types.js';
import { boostFor, DEFAULT_FUSION, fuseExtraList, reciprocalRankFusion, type FusionOptions } from './fusion.js';
import type { Maintenance } from './maintenance.js';
import { analyseQuery } from './query/analyse.js';
import { DEFAULT_FEATURES, type RecallFeatures } from './query/features.js';
import { rerank } from './query/rerank.js';
import type { QueryRewriter } from './query/rewrite.js';
import { MEMORY_COLUMNS, MemoryRow, sqlList } from './schema.js';
import type { MemoryKind, MemoryRecord, RecallHit, ScoreExplanation } from './types.js';

// Built once: constructing a zod schema costs far more than using it (recall parses many rows).
// Text and speaker are read with the candidates for the reranker: a few hundred bytes each.
const RANKING_COLUMNS = ['id', 'created_at', 'importance', 'expires_at', 'speaker', 'text'];
const RankingRow = z.object({
  id: z.string(),
  created_at: z.number(),
  importance: z.number(),
  expires_at: z.number().nullable(),
  speaker: z.string().nullable(),
  text: z.string(),
});
type RankingRow = z.output<typeof RankingRow>;
const VectorRankingRows = z.array(RankingRow.extend({ _distance: z.number() }));
const TextRankingRows = z.array(RankingRow.extend({ _score: z.number() }));
const MemoryRows = z.array(MemoryRow);

export interface RecallQuery {
  query: string;
  /** Scope keys the caller may read (see readableScopes). */
  scopes: readonly string[];
  kinds?: readonly MemoryKind[];
  /** Only memories created in [since, until) (epoch ms). */
  since?: number;
  until?: number;
  limit?: number;
  /** Candidates taken from each of the vector and full-text lists before fusing. */
  overFetch?: number;
  /** Favour recent memories (episodic recall); undefined ranks by relevance alone. */
  recencyHalfLifeMs?: number;
  fusion?: FusionOptions;
  /** The reranking stages after fusion (each 0 = off); default DEFAULT_FEATURES. */
  features?: Partial<RecallFeatures>;
  /**
   * The optional model-assisted step: given only when the caller allows a model call. Its
   * keyword queries are searched too and fused at `rewriteWeight` each (default 1, as the question's own keyword list: RAG-Fusion's equal weights; not tuned, as no model was at hand).
   */
  rewriter?: QueryRewriter;
  rewriteWeight?: number;
  /** The caller's budget for the rewriter's model call: checked before it, charged after. */
  spend?: ModelSpend;
}

/**
 * HNSW's candidate list per search. LanceDB's default (1.5 × the limit) let each rebuild of the
 * index, whose graph is built in parallel and so differs each time, change the tail of the
 * candidates (3–10 of 120 searches over 600 memories across 15 rebuilds); 3 × the limit gave none.
 */
const searchBreadth = (limit: number) => Math.max(100, limit * 3);

/**
 * Equal scores are common (BM25 gives every short row sharing one query word the same score), and
 * LanceDB's order among them is its own: an index rebuild may return them in another order. Ties
 * go oldest first, as storage order gave, then by text and id, so the same data always ranks the
 * same way (ids alone would not do: a batch's ids share their time and end in random bytes).
 */
function tieOrder(a: RankingRow, b: RankingRow): number {
  const order = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return a.created_at - b.created_at || order(a.text, b.text) || order(a.id, b.id);
}

/** LanceDB returns full-text matches in storage order, not by score: rank them ourselves. */
function byScore(rows: readonly (RankingRow & { _score: number })[]): { id: string; score: number }[] {
  return [...rows].sort((a, b) => b._score - a._score || tieOrder(a, b)).map((row) => ({ id: row.id, score: row._score }));
}

/** Hybrid recall over the memories table: vector and BM25 candidates, fused, boosted, then read in full. */
export class HybridRecall {
  constructor(
    private readonly db: MemoryDb,
    private readonly embedder: Embedder,
    private readonly maintenance: Maintenance,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Hybrid recall in two phases. First each list ranks candidates reading only the columns
   * ranking needs (id, dates, importance, speaker, text); expiry is checked here rather than in
   * the database filter, where it cost a scan of every row. The fused candidates are reranked
   * (query/rerank.ts: named speaker, the memory's own words, a named time). Then full rows are
   * read for the winners only.
   */
  async recall(query: RecallQuery, signal?: AbortSignal): Promise<RecallHit[]> {
    const limit = query.limit ?? 8;
    if (query.scopes.length === 0 || query.query.trim() === '') return [];
    const overFetch = query.overFetch ?? Math.max(40, limit * 2);
    const now = this.now();
    const filter = this.filter(query);
    // The model step, when allowed, runs alongside the offline searches.
    const rewritten = query.rewriter?.rewrite(query.query, signal, query.spend) ?? Promise.resolve([]);
    const [vector] = await this.embedder.embed([query.query], { purpose: 'query', ...(signal === undefined ? {} : { signal }) });
    const [vectorRows, textRows] = await Promise.all([
      this.db.memories
        .vectorSearch(Array.from(vector ?? []))
        .distanceType('cosine')
        .ef(searchBreadth(overFetch))
        .where(filter)
        .select([...RANKING_COLUMNS, '_distance'])
        .limit(overFetch)
        .toArray(),
      this.textSearch(query.query, filter, overFetch),
    ]);
    const live = (row: RankingRow) => row.expires_at === null || row.expires_at > now;
    const vectorCandidates = VectorRankingRows.parse(vectorRows).filter(live);
    const textCandidates = TextRankingRows.parse(textRows).filter(live);
    const candidates = new Map<string, RankingRow>([...vectorCandidates, ...textCandidates].map((row) => [row.id, row]));
    const vectorHits = [...vectorCandidates].sort((a, b) => a._distance - b._distance || tieOrder(a, b)).map((row) => ({ id: row.id, distance: row._distance }));
    const fusion = query.fusion ?? { ...DEFAULT_FUSION, vectorWeight: this.embedder.fusionWeight ?? DEFAULT_FUSION.vectorWeight };
    const fused = reciprocalRankFusion(vectorHits, byScore(textCandidates), fusion);
    const extra = await rewritten;
    if (extra.length > 0) {
      const lists = await Promise.all(extra.map((q) => this.textSearch(q, filter, overFetch)));
      for (const rows of lists) {
        const hits = TextRankingRows.parse(rows).filter(live);
        for (const row of hits) if (!candidates.has(row.id)) candidates.set(row.id, row);
        fuseExtraList(fused, byScore(hits), query.rewriteWeight ?? 1, fusion.k);
      }
    }
    const boosted: { id: string; score: number; createdAt: number; speaker: string | null; text: string }[] = [];
    const boosts = new Map<string, number>();
    for (const [id, score] of fused) {
      const row = candidates.get(id);
      if (row === undefined) continue;
      const boost = boostFor({ ageMs: now - row.created_at, importance: row.importance, recencyHalfLifeMs: query.recencyHalfLifeMs, recencyWeight: 0.5 });
      boosts.set(id, boost);
      boosted.push({ id, score: score.fused * boost, createdAt: row.created_at, speaker: row.speaker, text: row.text });
    }
    const features = { ...DEFAULT_FEATURES, ...query.features };
    const ranked: { id: string; score: number; explanation: ScoreExplanation }[] = [];
    for (const { id, score, factor } of rerank(boosted, analyseQuery(query.query, now), features)) {
      const base = fused.get(id);
      if (base === undefined) continue;
      const boost = (boosts.get(id) ?? 1) * factor;
      ranked.push({ id, score, explanation: { ...base, boost, final: score } });
    }
    const top = ranked.slice(0, limit);
    const records = new Map((await this.fetch(top.map((t) => t.id))).map((m) => [m.id, m]));
    const hits = top.flatMap(({ id, score, explanation }) => {
      const memory = records.get(id);
      // A memory forgotten between the two phases is simply left out.
      return memory === undefined ? [] : [{ memory, score, explanation }];
    });
    this.maintenance.noteAccessed(hits.map((h) => h.memory.id));
    return hits;
  }

  private async fetch(ids: readonly string[]): Promise<MemoryRecord[]> {
    if (ids.length === 0) return [];
    return MemoryRows.parse(await this.db.memories.query().where(`id IN ${sqlList(ids)}`).select(MEMORY_COLUMNS).limit(ids.length).toArray());
  }

  private async textSearch(text: string, filter: string, limit: number): Promise<unknown[]> {
    // Content words only: stop words add noise to BM25, and no query syntax reaches the parser.
    const words = keywordQuery(text);
    if (words === '') return [];
    return this.db.memories
      .query()
      .fullTextSearch(words, { columns: ['search_text'] })
      .where(filter)
      .select([...RANKING_COLUMNS, '_score'])
      .limit(limit)
      .toArray();
  }

  /** Conditions the database applies before ranking (all served by scalar indexes or cheap). */
  private filter(query: RecallQuery): string {
    const parts = [`scope IN ${sqlList(query.scopes)}`];
    if (query.kinds !== undefined && query.kinds.length > 0) parts.push(`kind IN ${sqlList(query.kinds)}`);
    if (query.since !== undefined) parts.push(`created_at >= ${query.since}`);
    if (query.until !== undefined) parts.push(`created_at < ${query.until}`);
    return parts.join(' AND ');
  }
}
