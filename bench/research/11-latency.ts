// Recall that generalises: what the reranking stages cost on the reply path. Stores N synthetic
// memories (as bench/research/profile-recall.ts does), then times, interleaved, (a) recall with
// every stage off and with the default stages, (b) the ranking queries with and without the
// text and speaker columns the reranker reads, (c) rerank() alone on the candidates.
//   node --import tsx bench/research/11-latency.ts [rows]
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../src/log.js';
import { createEmbedder } from '../../src/memory/embedders/index.js';
import { keywordQuery } from '../../src/memory/embedders/tokenize.js';
import { Memory } from '../../src/memory/memory.js';
import { analyseQuery } from '../../src/memory/query/analyse.js';
import { DEFAULT_FEATURES, NO_FEATURES } from '../../src/memory/query/features.js';
import { rerank } from '../../src/memory/query/rerank.js';

const N = Number(process.argv[2] ?? 10_000);
const log = silentLogger();
const embedder = await createEmbedder('local', { timeoutMs: 1000, maxRetries: 0 }, log);
const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-r11-'));
const memory = await Memory.open({ uri: dir, embedder, log, maintenance: { maxMemories: 10 * N } });
const scope = { userId: 'u', channelId: 'c', guildId: 'g' };
const A = ['Ada', 'Bob', 'Chen', 'Dana', 'Emil', 'Fatima', 'Goran', 'Hana', 'Ivo', 'Jun', 'Kemal', 'Lena', 'Mara', 'Nils', 'Omar', 'Priya'];
const B = ['deployed', 'reviewed', 'rewrote', 'benchmarked', 'migrated', 'documented', 'debugged', 'paused', 'launched', 'refactored', 'tested', 'scaled'];
const C = ['the billing service', 'the mobile app', 'the data pipeline', 'the onboarding flow', 'the search index', 'the payment gateway', 'the status page'];
const D = ['Oslo', 'Lagos', 'Lima', 'Pune', 'Kyoto', 'Austin', 'Porto', 'Riga', 'Accra', 'Hanoi', 'Quito', 'Bergen'];
const at = <T>(xs: readonly T[], i: number) => xs[i % xs.length] as T;
const start = Date.UTC(2024, 0, 1);
for (let i = 0; i < N; i += 1000) {
  await memory.semantic.saveMany(
    Array.from({ length: 1000 }, (_, j) => {
      const n = i + j;
      return {
        text: `${at(B, n * 3)} ${at(C, n * 5)} in ${at(D, n * 11)} today, item ${n}.`,
        speaker: at(A, n * 7),
        kind: 'turn' as const,
        createdAt: new Date(start + n * 600_000),
        scope,
        visibility: 'guild' as const,
      };
    }),
  );
}
await memory.maintenance.runAll();
const scopes = ['user:u', 'channel:c', 'guild:g'];
const queries = ['what did Ada do with the billing service in Oslo?', 'who migrated the data pipeline in March 2024?', 'when was the status page launched?', 'what did Priya test last week?'];
const samples: Record<string, number[]> = {};
async function time(name: string, fn: () => Promise<unknown>) {
  const s = performance.now();
  await fn();
  (samples[name] ??= []).push(performance.now() - s);
}
const t = memory.db.memories;
const filter = `scope IN ('user:u', 'channel:c', 'guild:g')`;
const base = ['id', 'created_at', 'importance', 'expires_at'];
for (let round = 0; round < 60; round++) {
  for (const q of queries) {
    const [v] = await embedder.embed([q], { purpose: 'query' });
    const vec = Array.from(v ?? []);
    const record = round >= 10;
    const run = async (name: string, fn: () => Promise<unknown>) => (record ? time(name, fn) : fn());
    await run('recall limit 8, stages off', () => memory.semantic.recall({ query: q, scopes, limit: 8, features: NO_FEATURES }));
    await run('recall limit 8, default stages', () => memory.semantic.recall({ query: q, scopes, limit: 8 }));
    await run('vector 40, ranking columns', () => t.vectorSearch(vec).distanceType('cosine').where(filter).select([...base, '_distance']).limit(40).toArray());
    await run('vector 40, + speaker, text', () => t.vectorSearch(vec).distanceType('cosine').where(filter).select([...base, 'speaker', 'text', '_distance']).limit(40).toArray());
    await run('fts 40, ranking columns', () => t.query().fullTextSearch(keywordQuery(q), { columns: ['search_text'] }).where(filter).select([...base, '_score']).limit(40).toArray());
    await run('fts 40, + speaker, text', () => t.query().fullTextSearch(keywordQuery(q), { columns: ['search_text'] }).where(filter).select([...base, 'speaker', 'text', '_score']).limit(40).toArray());
    const hits = await memory.semantic.recall({ query: q, scopes, limit: 100, features: NO_FEATURES });
    const candidates = hits.map((h) => ({ id: h.memory.id, score: h.score, createdAt: h.memory.createdAt, speaker: h.memory.speaker, text: h.memory.text }));
    if (record) {
      const s = performance.now();
      rerank(candidates, analyseQuery(q, Date.now()), DEFAULT_FEATURES);
      (samples[`rerank() alone, ${candidates.length} candidates`] ??= []).push(performance.now() - s);
    }
  }
}
await memory.close();
await rm(dir, { recursive: true, force: true });
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)] ?? 0;
const out = Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, { p50: Math.round(pct(xs, 0.5) * 100) / 100, p95: Math.round(pct(xs, 0.95) * 100) / 100 }]));
for (const [k, v] of Object.entries(out)) console.log(k.padEnd(40), `p50 ${v.p50} ms`, `p95 ${v.p95} ms`);
console.log(JSON.stringify({ rows: N, ms: out }));
