import { describe, expect, it } from 'vitest';
import { indexCacheMbFor, memoriesIndexCachePlan } from '../../src/memory/cache-sizes.js';
import type { MemoryInput } from '../../src/memory/types.js';
import { useTempMemory } from './helpers.js';

const mem = useTempMemory();
const scope = { userId: 'u-cache', channelId: 'c-cache' };
/** Fact i alone has both its words: alpha(i mod 300) and beta(i / 300). */
const fact = (i: number): MemoryInput => ({ text: `alpha${i % 300} beta${Math.floor(i / 300)} note ${i}`, kind: 'fact', scope, visibility: 'channel' });
const facts = (from: number, n: number): MemoryInput[] => Array.from({ length: n }, (_, k) => fact(from + k));

describe('the memories index cache', () => {
  it('is sized to the table, not to the row cap, and has room for the table to double', () => {
    const cap = indexCacheMbFor(200_000);
    expect(memoriesIndexCachePlan(0, cap)).toEqual({ mb: 32, rows: 8_192 });
    expect(memoriesIndexCachePlan(8_193, cap)).toEqual({ mb: 65, rows: 16_640 });
    expect(memoriesIndexCachePlan(50_000, cap)).toEqual({ mb: 391, rows: 100_096 });
    // At the cap the plan stops growing: that is the operator's bound.
    expect(memoriesIndexCachePlan(150_000, cap)).toEqual({ mb: cap, rows: 200_192 });
    expect(memoriesIndexCachePlan(10, 16)).toEqual({ mb: 16, rows: 4_096 });
  });

  it('is replaced by a larger one once the table outgrows it, and recall and saves carry on across the swap', async () => {
    const memory = await mem.open({ maintenance: { vectorIndexMinRows: 1_000 }, cacheMb: { index: 1_024, metadata: 16 } });
    expect(memory.db.cacheUsage().memoriesIndexBoundMb).toBe(32);
    await memory.semantic.saveMany(facts(0, 8_000));
    await memory.maintenance.runAll();
    expect(memory.db.cacheUsage().memoriesIndexBoundMb).toBe(32);
    const handle = memory.db.memories;
    const query = { query: 'alpha5 beta20', scopes: ['channel:c-cache'], limit: 10 };
    const before = (await memory.semantic.recall(query)).map((h) => h.memory.id);
    expect(before).toHaveLength(10);

    // Rows sharing no word with the query: its results should not change.
    await memory.semantic.saveMany(Array.from({ length: 300 }, (_, i) => ({ text: `filler${i} padding${i % 17}`, kind: 'fact', scope, visibility: 'channel' })));
    await memory.maintenance.runAll();
    expect(memory.db.cacheUsage().memoriesIndexBoundMb).toBe(65);
    expect(memory.db.memories).not.toBe(handle);
    // The handle taken before the swap still answers (a recall in flight keeps it for a grace period).
    expect(await handle.countRows()).toBe(8_300);
    const after = (await memory.semantic.recall(query)).map((h) => h.memory.id);
    expect(after[0]).toBe(before[0]);
    expect((await memory.semantic.get(after[0] ?? ''))?.text).toBe(fact(6_005).text);
    const saved = await memory.semantic.save({ text: 'the cache was swapped and this still saves', kind: 'fact', scope, visibility: 'channel' });
    expect((await memory.semantic.recall({ query: 'cache swapped still saves', scopes: ['channel:c-cache'], limit: 3 }))[0]?.memory.id).toBe(saved.id);
    // The warmed cache holds the indexes, within its bound.
    const usage = memory.db.cacheUsage();
    expect(usage.bytes).toBeGreaterThan(0);
    expect(usage.bytes).toBeLessThan((65 + 32 + 16 + 16) * 1_048_576);
  }, 60_000);
});
