import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { silentLogger } from '../../src/log.js';
import { createEmbedder } from '../../src/memory/embedders/index.js';
import { describe, expect, it } from 'vitest';
import { segmentRebuildAllowed } from '../../src/memory/index-plan.js';
import { lookupByHash } from '../../src/memory/insert-if-absent.js';
import type { MemoryInput } from '../../src/memory/types.js';
import { useTempMemory } from './helpers.js';

const mem = useTempMemory();
const scope = { userId: 'u-idx', channelId: 'c-idx' };
const VOCABULARY = Array.from({ length: 400 }, (_, i) => `word${i.toString(36)}`);
/** Deterministic texts of 6–13 words from a shared vocabulary: varied enough that scores rarely tie. */
function sentence(seed: number): string {
  let s = seed * 2654435761;
  const next = () => ((s = (Math.imul(s ^ (s >>> 15), 2246822507) + 0x6d2b79f5) >>> 0) / 2 ** 32);
  return Array.from({ length: 6 + Math.floor(next() * 8) }, () => VOCABULARY[Math.floor(next() * VOCABULARY.length)] ?? '').join(' ');
}
const facts = (n: number): MemoryInput[] => Array.from({ length: n }, (_, i) => ({ text: `${sentence(i + 1)} ${i}`, kind: 'fact', scope, visibility: 'channel' }));

describe('memory indexes', () => {
  it('answer a save’s dedupe lookup from the content_hash index, even with rows written since', async () => {
    const memory = await mem.open({ maintenance: { vectorIndexMinRows: 100_000 } });
    await memory.semantic.saveMany(facts(2_000));
    await memory.maintenance.runAll();
    // Single saves add small files not yet folded into the index.
    for (let i = 0; i < 3; i++) await memory.semantic.save({ text: `one more fact ${i}`, kind: 'fact', scope, visibility: 'channel' });
    const plan = await lookupByHash(memory.db.memories, ['0'.repeat(64)]).explainPlan();
    expect(plan).toContain('ScalarIndexQuery');
    expect(plan).toMatch(/content_hash/);
  });

  it('merge vector index segments by a rebuild at most a fifth of the time', () => {
    const last = { rows: 100_000, endedAt: 100_000, tookMs: 10_000 };
    // A 10 s rebuild is followed by at least 40 s without one; a quick one hardly waits.
    expect(segmentRebuildAllowed(last, 139_999)).toBe(false);
    expect(segmentRebuildAllowed(last, 140_000)).toBe(true);
    expect(segmentRebuildAllowed({ rows: 3_000, endedAt: 100_000, tookMs: 50 }, 100_200)).toBe(true);
  });

  it('leave no empty index directories behind, however often they are updated', async () => {
    // A clock two minutes ahead: each refresh's cleanup then drops every superseded version (it keeps a minute's).
    const memory = await mem.open({ maintenance: { vectorIndexMinRows: 50 }, now: () => Date.now() + 120_000 });
    await memory.semantic.saveMany(facts(60));
    const indexDirs = async () => {
      const root = path.join(await mem.dir(), `${memory.db.memories.name}.lance`, '_indices');
      return Promise.all((await readdir(root)).map(async (name) => (await readdir(path.join(root, name))).length));
    };
    // Each refresh supersedes every index (text, vector and four scalar ones) by a new directory.
    for (let i = 0; i < 6; i++) {
      await memory.semantic.save({ text: `${sentence(500 + i)} late`, kind: 'fact', scope, visibility: 'channel' });
      await memory.maintenance.refreshIndexes();
    }
    const filesPerDir = await indexDirs();
    expect(filesPerDir.length).toBeGreaterThanOrEqual(6);
    expect(filesPerDir.filter((files) => files === 0)).toEqual([]);
  });

  it('rank memories that score the same oldest first, whatever order they were saved in', async () => {
    const memory = await mem.open();
    const day = 86_400_000;
    const ages = [3, 7, 1, 5, 2, 6, 4];
    // Same length, one shared word: the same BM25 score and (test embedder) the same distance.
    for (const [i, age] of ages.entries()) {
      await memory.semantic.save({ text: `kiwi tag${'abcdefg'[i] ?? ''}`, kind: 'fact', scope, visibility: 'channel', createdAt: new Date(Date.now() - age * day) });
    }
    const hits = await memory.semantic.recall({ query: 'kiwi', scopes: ['channel:c-idx'], limit: 7 });
    expect(hits.map((h) => h.memory.text)).toEqual(['kiwi tagb', 'kiwi tagf', 'kiwi tagd', 'kiwi tagg', 'kiwi taga', 'kiwi tage', 'kiwi tagc']);
  });

  it('keep the memories recall counts in the indexes once the counts are written', async () => {
    const memory = await mem.open({ maintenance: { accessFlushMs: 500 } });
    await memory.semantic.saveMany(facts(300));
    await memory.maintenance.runAll();
    const recalled = new Set<string>();
    // Enough recalls for several writes of counts in between: a single write left the rows indexed here, repeated ones did not.
    for (let i = 0; i < 100; i++) {
      for (const hit of await memory.semantic.recall({ query: sentence(20_000 + i).split(' ').slice(0, 3).join(' '), scopes: ['channel:c-idx'], limit: 10 })) recalled.add(hit.memory.id);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    await memory.maintenance.idle();
    const [first] = recalled;
    expect((await memory.semantic.get(first ?? ''))?.accessCount).toBeGreaterThan(0);
    // Writing a count rewrites the row; left out of the indexes, keyword search could miss it.
    expect((await memory.stats()).indexes.filter((index) => index.unindexedRows > 0)).toEqual([]);
  });

  it('give the same recall results before and after they are rebuilt', async () => {
    // The real embedder: the test one's 64 hashed dimensions give near-ties that any rebuild of an approximate index reorders.
    const embedder = await createEmbedder('local', { timeoutMs: 30_000, maxRetries: 0 }, silentLogger());
    const memory = await mem.open({ embedder, maintenance: { vectorIndexMinRows: 200 } });
    await memory.semantic.saveMany(facts(600));
    await memory.maintenance.runAll();
    const indexes = (await memory.stats()).indexes.map((i) => i.type);
    expect(indexes).toEqual(expect.arrayContaining(['IvfHnswSq', 'FTS']));
    const queries = Array.from({ length: 8 }, (_, i) => sentence(10_000 + i).split(' ').slice(0, 3).join(' '));
    const recallAll = async () =>
      Promise.all(queries.map(async (query) => (await memory.semantic.recall({ query, scopes: ['channel:c-idx'], limit: 10 })).map((h) => h.memory.id)));
    const before = await recallAll();
    expect(before.every((ids) => ids.length === 10)).toBe(true);
    for (let i = 0; i < 3; i++) {
      await memory.maintenance.rebuildIndexes();
      expect(await recallAll()).toEqual(before);
    }
  });
});
