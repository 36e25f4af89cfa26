/**
 * Research harness: per LoCoMo conversation, one LanceDB table of turns (text for the BM25
 * index, a vector column), the same searches the memory store makes, and the paper's scoring.
 * Rankings are cached on disk by name so fusion variants can be tried without re-searching.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import * as arrow from 'apache-arrow';
import { z } from 'zod';
import {
  loadLocomo,
  scoreQuestion,
  summarise,
  type LocomoConversation,
  type LocomoData,
  type LocomoQuestion,
  type LocomoTurn,
  type RecallSummary,
} from '../locomo-data.js';

export const KS = [5, 10, 25, 50] as const;
export const DATA_PATH = process.env.LOCOMO_PATH ?? '/work/shared/bench-data/locomo10.json';
const CACHE_DIR = process.env.RESEARCH_CACHE ?? path.join(os.tmpdir(), 'cairn-research-cache');

export type FtsOptions = Partial<lancedb.FtsOptions>;
/** Text for a turn; `turns` is the whole conversation so a recipe may look back (never ahead). */
export type DocRecipe = (turn: LocomoTurn, index: number, turns: readonly LocomoTurn[], conv: LocomoConversation) => string;
export type EmbedFn = (texts: readonly string[], purpose: 'query' | 'document') => Float32Array[] | Promise<Float32Array[]>;

/** One ranked id list per question, questions in file order across conversations. */
export type Rankings = string[][];

export async function loadData(): Promise<LocomoData> {
  return loadLocomo(DATA_PATH);
}

export function allQuestions(data: LocomoData): { conv: LocomoConversation; q: LocomoQuestion }[] {
  return data.conversations.flatMap((conv) => conv.questions.map((q) => ({ conv, q })));
}

const CachedRankings = z.array(z.array(z.string()));

async function cached(name: string, compute: () => Promise<Rankings>): Promise<Rankings> {
  const file = path.join(CACHE_DIR, `${name.replace(/[^\w.-]+/g, '_')}.json`);
  if (existsSync(file)) return CachedRankings.parse(JSON.parse(await readFile(file, 'utf8')));
  const rankings = await compute();
  await mkdir(CACHE_DIR, { recursive: true });
  await writeFile(file, JSON.stringify(rankings));
  return rankings;
}

interface BuildOptions {
  recipe: DocRecipe;
  /** Text for the vector; defaults to the FTS text. */
  vectorRecipe?: DocRecipe;
  fts?: FtsOptions;
  embed?: EmbedFn;
  queryText?: (q: LocomoQuestion) => string;
  limit: number;
}

/** Runs the FTS and/or vector search of every question; `name` keys the cache. */
export async function searchAll(
  name: string,
  data: LocomoData,
  options: BuildOptions,
): Promise<{ fts?: Rankings; vector?: Rankings }> {
  const out: { fts?: Rankings; vector?: Rankings } = {};
  const needFts = options.fts !== undefined;
  const needVec = options.embed !== undefined;
  const compute = async (): Promise<{ fts: Rankings; vector: Rankings }> => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-research-db-'));
    const fts: Rankings = [];
    const vector: Rankings = [];
    try {
      const db = await lancedb.connect(dir);
      for (const conv of data.conversations) {
        const texts = conv.turns.map((t, i) => options.recipe(t, i, conv.turns, conv));
        const vecTexts = options.vectorRecipe ? conv.turns.map((t, i) => options.vectorRecipe?.(t, i, conv.turns, conv) ?? '') : texts;
        const vectors = options.embed ? await options.embed(vecTexts, 'document') : undefined;
        const dims = vectors?.[0]?.length ?? 1;
        const schema = new arrow.Schema([
          new arrow.Field('id', new arrow.Utf8()),
          new arrow.Field('text', new arrow.Utf8()),
          new arrow.Field('vector', new arrow.FixedSizeList(dims, new arrow.Field('item', new arrow.Float32(), true))),
        ]);
        const rows = conv.turns.map((t, i) => ({ id: t.id, text: texts[i] ?? '', vector: Array.from(vectors?.[i] ?? [0]) }));
        const table = await db.createTable(conv.sampleId, rows, { mode: 'overwrite', schema });
        if (needFts) await table.createIndex('text', { config: lancedb.Index.fts(options.fts) });
        const queries = conv.questions.map((q) => (options.queryText ? options.queryText(q) : q.question));
        const qVecs = options.embed ? await options.embed(queries, 'query') : undefined;
        for (const [qi, query] of queries.entries()) {
          if (needFts) fts.push(await ftsSearch(table, query, options.limit));
          const qv = qVecs?.[qi];
          if (qv) vector.push(await vectorSearch(table, qv, options.limit));
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return { fts, vector };
  };
  // One search pass fills both caches; a second call then reads them.
  let pass: Promise<{ fts: Rankings; vector: Rankings }> | undefined;
  const once = (): Promise<{ fts: Rankings; vector: Rankings }> => (pass ??= compute());
  if (needFts) out.fts = await cached(`${name}.fts`, async () => (await once()).fts);
  if (needVec) out.vector = await cached(`${name}.vec`, async () => (await once()).vector);
  return out;
}

async function ftsSearch(table: lancedb.Table, query: string, limit: number): Promise<string[]> {
  if (query.trim() === '') return [];
  const rows = await table.query().fullTextSearch(query).select(['id', '_score']).limit(limit).toArray();
  return rows.map((r: { id: string }) => r.id);
}

async function vectorSearch(table: lancedb.Table, v: Float32Array, limit: number): Promise<string[]> {
  const rows = await table.query().nearestTo(Array.from(v)).distanceType('cosine').select(['id', '_distance']).limit(limit).toArray();
  return rows.map((r: { id: string }) => r.id);
}

/** Reciprocal rank fusion: score(d) = Σ w_i / (k + rank_i(d)), ranks from 1; ties by first list. */
export function rrf(lists: readonly (readonly string[])[], k: number, weights?: readonly number[]): string[] {
  const score = new Map<string, number>();
  lists.forEach((list, li) => {
    const w = weights?.[li] ?? 1;
    list.forEach((id, rank) => score.set(id, (score.get(id) ?? 0) + w / (k + rank + 1)));
  });
  return [...score.entries()].sort((a, b) => b[1] - a[1]).map(([id]) => id);
}

export function fuseAll(listsPerRun: readonly Rankings[], k: number, weights?: readonly number[], depth = 100): Rankings {
  const n = listsPerRun[0]?.length ?? 0;
  const out: Rankings = [];
  for (let i = 0; i < n; i++) out.push(rrf(listsPerRun.map((r) => (r[i] ?? []).slice(0, depth)), k, weights));
  return out;
}

export function evaluate(data: LocomoData, rankings: Rankings): RecallSummary {
  const qs = allQuestions(data);
  const scored = qs.map(({ q }, i) => scoreQuestion(q, rankings[i] ?? [], KS));
  return summarise(scored, KS);
}

const SHORT: Record<string, string> = { 'multi-hop': 'mh', temporal: 'tmp', 'open-domain': 'od', 'single-hop': 'sh', adversarial: 'adv' };

export function row(name: string, s: RecallSummary): string {
  const o = KS.map((k) => (s.overall[k] ?? 0).toFixed(1).padStart(5)).join(' ');
  const cats = Object.entries(s.byCategory)
    .map(([c, v]) => `${SHORT[c] ?? c} ${KS.map((k) => (v.recall[k] ?? 0).toFixed(0)).join('/')}`)
    .join('  ');
  const dragon: Record<number, number> = { 5: 56.7, 10: 66.2, 25: 76.7, 50: 82.7 };
  // '*' marks a row above the paper's DRAGON retriever at every k.
  const beats = KS.every((k) => (s.overall[k] ?? 0) > (dragon[k] ?? 100)) ? ' *' : '';
  return `${name.padEnd(44)} ${o}${beats}   ${cats}`;
}
