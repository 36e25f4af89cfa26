/**
 * bench:memory — hybrid recall latency (vector + BM25 in LanceDB, fused) at 1k, 10k and 100k
 * memories, against a brute-force cosine scan over every row in JS, measured in the same run with
 * the same queries and the same query embeddings. Also the insert rate through the public API
 * (embedding included): while loading, and in batches of 1,000 into the full table; and the p50 of
 * saving one conversation turn (speaker and context, one save at a time) into the full table.
 *
 *   npm run bench:memory -- [--json] [--sizes 1000,10000,100000] [--queries 200] [--saves 200]
 *                           [--index-cache-mb N] [--metadata-cache-mb N] [--vector-index-min-rows N]
 *                           [--stream-seconds 60] [--stream-rate 100] [--load grow|bulk]
 *
 * --load grow (the default) loads each size through saveMany with maintenance running as it would
 * in production: the table is compacted and its indexes updated every 2,000 rows, and each of
 * those updates rewrites the scalar and full-text indexes whole (LanceDB merges new rows into
 * them), so loading takes time quadratic in the size. --load bulk folds rows into the scalar and
 * text indexes every 100,000 rows only and builds the vector index once at the end, as restoring
 * an export would: the only way to reach 1,000,000 rows in minutes here. Recall, saves and batches
 * are measured the same way after both.
 *
 * With --stream-seconds, each size also gets a stream phase (memory-stream.ts): single saves at
 * --stream-rate a second while recalls run back to back, and how far the indexes fall behind.
 *
 * Above 100,000 memories the brute-force scan is timed on 20 queries only (it takes ~0.4 s each).
 *
 * Memories are synthetic but varied (people, places, projects, dates; ~12 words each) and all
 * live in one guild scope, so every recall searches the whole table: the worst case.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../src/log.js';
import { DEFAULT_CACHE_MB, indexCacheMbFor, type CacheSizes } from '../src/memory/cache-sizes.js';
import { createEmbedder } from '../src/memory/embedders/index.js';
import { DEFAULT_MAINTENANCE } from '../src/memory/maintenance.js';
import { Memory } from '../src/memory/memory.js';
import type { MemoryInput } from '../src/memory/types.js';
import { streamPhase, type StreamResult } from './memory-stream.js';
import { percentile, round } from './stats.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    sizes: { type: 'string', default: '1000,10000,100000' },
    queries: { type: 'string', default: '200' },
    saves: { type: 'string', default: '200' },
    // LanceDB's cache bounds in MiB (CAIRN_MEMORY_INDEX_CACHE_MB / _METADATA_CACHE_MB); the app's defaults otherwise.
    // Default: what CAIRN_MEMORY_MAX_ROWS = max(size, 200,000) gives (4 KiB a memory).
    'index-cache-mb': { type: 'string' },
    'metadata-cache-mb': { type: 'string', default: String(DEFAULT_CACHE_MB.metadata) },
    // Below this many rows vector search scans every row instead of using the HNSW index.
    'vector-index-min-rows': { type: 'string', default: String(DEFAULT_MAINTENANCE.vectorIndexMinRows) },
    'stream-seconds': { type: 'string', default: '0' },
    'stream-rate': { type: 'string', default: '100' },
    load: { type: 'string', default: 'grow' },
  },
});
const vectorIndexMinRows = Number(values['vector-index-min-rows']);
const sizes = values.sizes.split(',').map(Number);
const queryCount = Number(values.queries);
const saveCount = Number(values.saves);
const streamSeconds = Number(values['stream-seconds']);
const streamRate = Number(values['stream-rate']);
for (const [name, value] of [['sizes', Math.min(...sizes)], ['queries', queryCount], ['saves', saveCount], ['stream-rate', streamRate]] as const) {
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} takes whole numbers of at least 1 (got ${String(value)})`);
}
const load = values.load;
if (load !== 'grow' && load !== 'bulk') throw new Error(`--load takes grow or bulk (got ${load})`);
if (!Number.isFinite(streamSeconds) || streamSeconds < 0 || streamSeconds > 3_600) throw new Error(`--stream-seconds takes 0 to 3600 (got ${values['stream-seconds']})`);
const log = silentLogger();

/** Small deterministic PRNG so every run benchmarks the same data. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 2246822507) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}
const NAMES = ['Ada', 'Bob', 'Chen', 'Dana', 'Emil', 'Fatima', 'Goran', 'Hana', 'Ivo', 'Jun', 'Kemal', 'Lena', 'Mara', 'Nils', 'Omar', 'Priya'];
const PLACES = ['Oslo', 'Lagos', 'Lima', 'Pune', 'Kyoto', 'Austin', 'Porto', 'Riga', 'Accra', 'Hanoi', 'Quito', 'Bergen'];
const THINGS = ['the billing service', 'the mobile app', 'the data pipeline', 'the onboarding flow', 'the search index', 'the payment gateway', 'the status page', 'the release train', 'the design system', 'the API gateway', 'the support queue', 'the analytics dashboard'];
const VERBS = ['deployed', 'reviewed', 'rewrote', 'benchmarked', 'migrated', 'documented', 'debugged', 'paused', 'launched', 'refactored', 'tested', 'scaled'];
const EXTRAS = ['after the outage', 'before the holidays', 'with the new vendor', 'for the Q3 roadmap', 'during the offsite', 'at the customer\u2019s request', 'to cut costs', 'for accessibility', 'behind a feature flag', 'with zero downtime'];
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

function memoryText(r: () => number, i: number): string {
  return `${pick(r, NAMES)} ${pick(r, VERBS)} ${pick(r, THINGS)} in ${pick(r, PLACES)} ${pick(r, EXTRAS)} (week ${1 + (i % 52)}, item ${i}).`;
}
function queryText(r: () => number): string {
  return `what did ${pick(r, NAMES)} do with ${pick(r, THINGS)} in ${pick(r, PLACES)}?`;
}


function bruteForceTopK(vectors: Float32Array[], query: Float32Array, k: number): number[] {
  const scored: { i: number; s: number }[] = [];
  for (let i = 0; i < vectors.length; i++) {
    const v = vectors[i] as Float32Array;
    let dot = 0;
    for (let d = 0; d < v.length; d++) dot += (v[d] as number) * (query[d] as number);
    scored.push({ i, s: dot });
  }
  scored.sort((a, b) => b.s - a.s);
  return scored.slice(0, k).map((x) => x.i);
}

const embedder = await createEmbedder('local', { timeoutMs: 30_000, maxRetries: 0 }, log);
const scope = { userId: 'bench-user', channelId: 'bench-channel', guildId: 'bench-guild' };
const recallP50Ms: Record<string, number> = {};
const bruteForceP50Ms: Record<string, number> = {};
const recallP95Ms: Record<string, number> = {};
const saveP50Ms: Record<string, number> = {};
const saveP95Ms: Record<string, number> = {};
const batchInsertPerSec: Record<string, number> = {};
let insertPerSec = 0;
/** Time to load each size, and then to bring every index up to date (wall clock, seconds). */
const loadSeconds: Record<string, number> = {};
const indexBuildSeconds: Record<string, number> = {};
/** What LanceDB's caches held at the end (as LanceDB counts it): whether the bounds were reached. */
const cacheUsedMb: Record<string, number> = {};
const cacheMbBySize: Record<string, CacheSizes> = {};
const stream: Record<string, StreamResult> = {};

for (const size of sizes) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-bench-memory-'));
  // As a deployment holding `size` memories would set CAIRN_MEMORY_MAX_ROWS (and so its index cache).
  const cacheMb = { index: Number(values['index-cache-mb'] ?? indexCacheMbFor(Math.max(size, 200_000))), metadata: Number(values['metadata-cache-mb']) };
  cacheMbBySize[size] = cacheMb;
  const options = { uri: dir, embedder, log, maintenance: { maxMemories: 10 * size, vectorIndexMinRows }, cacheMb };
  // Bulk: scalar and text indexes folded in every 100,000 rows (each save's dedupe lookup scans the
  // rows they do not cover yet), no vector index until the end; reopened with the usual cadence below.
  const deferred = { ...options.maintenance, optimizeEveryRows: 100_000, optimizeEveryWrites: Number.POSITIVE_INFINITY, vectorIndexMinRows: Number.POSITIVE_INFINITY };
  let memory = await Memory.open(load === 'bulk' ? { ...options, maintenance: deferred } : options);
  try {
    const r = prng(size);
    const texts = Array.from({ length: size }, (_, i) => memoryText(r, i));
    const started = performance.now();
    for (let i = 0; i < size; i += 1_000) {
      const batch: MemoryInput[] = texts.slice(i, i + 1_000).map((text) => ({ text, kind: 'fact', scope, visibility: 'guild' }));
      await memory.semantic.saveMany(batch);
      const loaded = i + batch.length;
      // Long loads say how far they are (stderr: stdout's last line is the JSON result).
      if (size >= 100_000 && loaded % (size / 10) < 1_000) {
        const seconds = (performance.now() - started) / 1000;
        process.stderr.write(`${size}: ${loaded} loaded in ${seconds.toFixed(0)} s (${Math.round(loaded / seconds)}/s)\n`);
      }
    }
    const insertSeconds = (performance.now() - started) / 1000;
    if (size === Math.max(...sizes)) insertPerSec = Math.round(size / insertSeconds);
    // Indexes are built in the background in production; here we wait for them before timing recall.
    const indexStarted = performance.now();
    if (load === 'bulk') {
      await memory.close();
      // Opening folds every row in (the indexes are built whole); runAll then merges the vector index.
      memory = await Memory.open(options);
    }
    await memory.maintenance.runAll();
    const indexSeconds = (performance.now() - indexStarted) / 1000;
    if (size >= 100_000) process.stderr.write(`${size}: indexed in ${indexSeconds.toFixed(0)} s\n`);
    loadSeconds[size] = Math.round(insertSeconds);
    indexBuildSeconds[size] = Math.round(indexSeconds);

    const bruteQueries = size > 100_000 ? Math.min(20, queryCount) : queryCount;
    const vectors: Float32Array[] = [];
    for (let i = 0; i < size; i += 10_000) vectors.push(...(await embedder.embed(texts.slice(i, i + 10_000), { purpose: 'document' })));
    const queries = Array.from({ length: queryCount }, () => queryText(r));
    const hybrid: number[] = [];
    const brute: number[] = [];
    for (let q = -10; q < queryCount; q++) {
      const query = queries[Math.max(0, q)] as string;
      const t0 = performance.now();
      await memory.semantic.recall({ query, scopes: ['user:bench-user', 'channel:bench-channel', 'guild:bench-guild'], limit: 10 });
      const t1 = performance.now();
      if (q >= bruteQueries) {
        if (q >= 0) hybrid.push(t1 - t0);
        continue;
      }
      const [qv] = await embedder.embed([query], { purpose: 'query' });
      bruteForceTopK(vectors, qv as Float32Array, 10);
      const t2 = performance.now();
      if (q >= 0) {
        hybrid.push(t1 - t0);
        brute.push(t2 - t1);
      }
    }
    vectors.length = 0;

    // One conversation turn at a time, as a run saves them; maintenance runs in the background as it would.
    const saves: number[] = [];
    for (let i = 0; i < saveCount; i++) {
      const turn: MemoryInput = { text: `${memoryText(r, size + i)} Anything else?`, kind: 'turn', scope, visibility: 'guild', speaker: pick(r, NAMES), context: `reply to message ${i}` };
      const t0 = performance.now();
      await memory.semantic.save(turn);
      saves.push(performance.now() - t0);
    }
    saveP50Ms[size] = round(percentile(saves, 0.5));
    saveP95Ms[size] = round(percentile(saves, 0.95));
    if (streamSeconds > 0) {
      stream[size] = await streamPhase({
        memory,
        ratePerSec: streamRate,
        seconds: streamSeconds,
        turn: (i) => ({ text: `${memoryText(r, 3 * size + i)} Noted.`, kind: 'turn', scope, visibility: 'guild', speaker: pick(r, NAMES), context: `stream message ${i}` }),
        query: () => queryText(r),
        scopes: ['user:bench-user', 'channel:bench-channel', 'guild:bench-guild'],
      });
      if (!values.json) console.log(`${size} memories, ${streamRate} saves/s for ${streamSeconds} s: ${JSON.stringify(stream[size])}`);
    }
    // Batches of 1,000 into the full table (embedding included).
    const batchStarted = performance.now();
    const batches = 5;
    for (let b = 0; b < batches; b++) {
      await memory.semantic.saveMany(Array.from({ length: 1_000 }, (_, i) => ({ text: memoryText(r, 2 * size + b * 1_000 + i), kind: 'fact', scope, visibility: 'guild' })));
    }
    batchInsertPerSec[size] = Math.round((batches * 1_000) / ((performance.now() - batchStarted) / 1000));

    cacheUsedMb[size] = Math.round(memory.db.cacheUsage().bytes / 1_048_576);
    recallP50Ms[size] = round(percentile(hybrid, 0.5));
    recallP95Ms[size] = round(percentile(hybrid, 0.95));
    bruteForceP50Ms[size] = round(percentile(brute, 0.5));
    if (!values.json) {
      console.log(
        `${size} memories: hybrid recall p50 ${recallP50Ms[size]} ms (p95 ${recallP95Ms[size]}), brute-force scan p50 ${bruteForceP50Ms[size]} ms; ` +
          `loaded in ${insertSeconds.toFixed(1)} s, indexed in ${indexSeconds.toFixed(1)} s; save p50 ${saveP50Ms[size]} ms (p95 ${saveP95Ms[size]}); batches ${batchInsertPerSec[size]}/s; caches ${cacheUsedMb[size]} MB`,
      );
    }
  } finally {
    await memory.close();
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(JSON.stringify({ recallP50Ms, bruteForceP50Ms, insertPerSec, recallP95Ms, saveP50Ms, saveP95Ms, batchInsertPerSec, load, loadSeconds, indexBuildSeconds, embedder: embedder.id, dimensions: embedder.dimensions, queries: queryCount, cacheMb: cacheMbBySize, cacheUsedMb, vectorIndexMinRows, ...(streamSeconds > 0 ? { stream } : {}) }));
