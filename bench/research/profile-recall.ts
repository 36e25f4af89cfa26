// Profiling aid for bench:memory: where one hybrid recall spends its time (bench-like data).
//   node --import tsx bench/research/profile-recall.ts [rows]
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../src/log.js';
import { createEmbedder } from '../../src/memory/embedders/index.js';
import { keywordQuery } from '../../src/memory/embedders/tokenize.js';
import { Memory } from '../../src/memory/memory.js';
import { MEMORY_COLUMNS } from '../../src/memory/schema.js';

const N = Number(process.argv[2] ?? 10_000);
const log = silentLogger();
const embedder = await createEmbedder('local', { timeoutMs: 1000, maxRetries: 0 }, log);
const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-prof-'));
const memory = await Memory.open({ uri: dir, embedder, log, maintenance: { maxMemories: 10 * N } });
const scope = { userId: 'u', channelId: 'c', guildId: 'g' };
const A = ['Ada', 'Bob', 'Chen', 'Dana', 'Emil', 'Fatima', 'Goran', 'Hana', 'Ivo', 'Jun', 'Kemal', 'Lena', 'Mara', 'Nils', 'Omar', 'Priya'];
const B = ['deployed', 'reviewed', 'rewrote', 'benchmarked', 'migrated', 'documented', 'debugged', 'paused', 'launched', 'refactored', 'tested', 'scaled'];
const C = ['the billing service', 'the mobile app', 'the data pipeline', 'the onboarding flow', 'the search index', 'the payment gateway', 'the status page'];
const D = ['Oslo', 'Lagos', 'Lima', 'Pune', 'Kyoto', 'Austin', 'Porto', 'Riga', 'Accra', 'Hanoi', 'Quito', 'Bergen'];
const at = <T>(xs: readonly T[], i: number) => xs[i % xs.length] as T;
for (let i = 0; i < N; i += 1000) {
  await memory.semantic.saveMany(Array.from({ length: 1000 }, (_, j) => {
    const n = i + j;
    return { text: `${at(A, n * 7)} ${at(B, n * 3)} ${at(C, n * 5)} in ${at(D, n * 11)} (item ${n}).`, kind: 'fact' as const, scope, visibility: 'guild' as const };
  }));
}
await memory.maintenance.runAll();
const t = memory.db.memories;
const q = 'what did Ada do with the billing service in Oslo?';
const [v] = await embedder.embed([q], { purpose: 'query' });
const vec = Array.from(v ?? []);
const scopeOnly = "scope IN ('user:u', 'channel:c', 'guild:g')";
const withExpiry = `${scopeOnly} AND (expires_at IS NULL OR expires_at > ${Date.now()})`;
async function time(name: string, fn: () => Promise<unknown>) {
  for (let i = 0; i < 5; i++) await fn();
  const xs: number[] = [];
  for (let i = 0; i < 40; i++) { const s = performance.now(); await fn(); xs.push(performance.now() - s); }
  xs.sort((a, b) => a - b);
  console.log(name.padEnd(46), (xs[20] ?? 0).toFixed(2), 'ms');
}
console.log('indexes:', (await t.listIndices()).map((i) => `${i.columns.join(',')}:${i.indexType}`).join(' '));
console.log('vector index:', JSON.stringify(await t.indexStats('vector_idx')));
for (const [label, where] of [['no filter', undefined], ['scope', scopeOnly], ['scope+expiry', withExpiry]] as const) {
  await time(`vector 100 ids, ${label}`, () => { const s = t.vectorSearch(vec).distanceType('cosine'); return (where ? s.where(where) : s).select(['id', '_distance']).limit(100).toArray(); });
  await time(`fts 100 ids, ${label}`, () => { const s = t.query().fullTextSearch(keywordQuery(q), { columns: ['search_text'] }); return (where ? s.where(where) : s).select(['id', '_score']).limit(100).toArray(); });
}
await time('vector 100 full rows, scope+expiry', () => t.vectorSearch(vec).distanceType('cosine').where(withExpiry).select([...MEMORY_COLUMNS, '_distance']).limit(100).toArray());
await time('fts 100 full rows, scope+expiry', () => t.query().fullTextSearch(keywordQuery(q), { columns: ['search_text'] }).where(withExpiry).select([...MEMORY_COLUMNS, '_score']).limit(100).toArray());
await time('fts 40 full rows, scope+expiry', () => t.query().fullTextSearch(keywordQuery(q), { columns: ['search_text'] }).where(withExpiry).select([...MEMORY_COLUMNS, '_score']).limit(40).toArray());
await time('recall limit 10', () => memory.semantic.recall({ query: q, scopes: ['user:u', 'channel:c', 'guild:g'], limit: 10 }));
await memory.close();
await rm(dir, { recursive: true, force: true });
