import * as lancedb from '@lancedb/lancedb';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configureLance } from '../../src/memory/lance-env.js';
import { SCALAR_INDEXES, textIndex, vectorIndex } from '../../src/memory/index-plan.js';

const MIB = 1_048_576n;
// The local embedder's size: entries as large as a bot's.
const DIMENSIONS = 356;
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** Rejects if `work` has not settled within `ms`: a LanceDB call that never returns would otherwise hang the test silently. */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} did not finish within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work, stalled]);
  } finally {
    clearTimeout(timer);
  }
}

let seed = 7;
const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const vector = () => Array.from({ length: DIMENSIONS }, random);
const rows = (from: number, n: number) =>
  Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return { id: `m${i}`, scope: `s${i % 7}`, kind: 'fact', content_hash: `h${i}`, search_text: `topic${i % 97} detail${i % 31} record ${i}`, vector: vector() };
  });

describe('LanceDB under a full index cache (the storage Cairn relies on)', () => {
  // LanceDB 0.33 stopped every reader of a table for good, at no CPU, once its index cache was
  // evicting while appends, queries and an optimize ran together: on 0.33 this test failed in three
  // runs of three (a vector search never returned), on 0.37.1 it passed three of three. A bot's cache fills towards
  // its bound over a long uptime, so this is where it would have stopped answering.
  it('keeps answering saves-like appends and recalls-like searches while the cache evicts and the indexes are updated', async () => {
    configureLance();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-lance-evict-'));
    dirs.push(dir);
    const setup = await lancedb.connect(dir);
    const created = await setup.createTable('memories', rows(0, 3_000));
    for (const [column, config] of SCALAR_INDEXES) await created.createIndex(column, { config: config() });
    await created.createIndex('search_text', { config: textIndex() });
    await created.createIndex('vector', { config: vectorIndex(3_000) });
    created.close();
    setup.close();
    // Recall's handle with a 4 MiB index cache (far less than these indexes take); upkeep on a connection of its own.
    const reader = await lancedb.connect(dir, { readConsistencyInterval: 1, session: new lancedb.Session(4n * MIB, 16n * MIB) });
    const upkeep = await lancedb.connect(dir, { readConsistencyInterval: 1, session: new lancedb.Session(32n * MIB, 16n * MIB) });
    const table = await reader.openTable('memories');
    const upkeepTable = await upkeep.openTable('memories');
    try {
      const until = Date.now() + 10_000;
      let next = 3_000;
      const counts = { appends: 0, searches: 0, optimizes: 0 };
      const appender = async () => {
        while (Date.now() < until) {
          await within(15_000, 'a checkout', table.checkoutLatest());
          await within(15_000, 'a lookup', table.query().where(`content_hash IN ('h${next}', 'h1')`).toArray());
          const from = next;
          next += 2;
          await within(15_000, 'an append', table.add(rows(from, 2)));
          counts.appends += 1;
        }
      };
      const searcher = async (k: number) => {
        while (Date.now() < until) {
          await within(15_000, 'a vector search', table.search(vector()).where(`scope = 's${k}'`).limit(20).toArray());
          const hits = await within(15_000, 'a text search', table.search(`topic${(k * 13 + counts.searches) % 97} record`, 'fts', 'search_text').where(`scope = 's${k}'`).limit(20).toArray());
          expect(hits.length).toBeGreaterThan(0);
          await within(15_000, 'a fetch by id', table.query().where(`id IN ('m${next - 5}')`).toArray());
          counts.searches += 1;
        }
      };
      const optimizer = async () => {
        while (Date.now() < until) {
          await new Promise((resolve) => setTimeout(resolve, 300));
          await within(30_000, 'an optimize', upkeepTable.checkoutLatest().then(() => upkeepTable.optimize({ cleanupOlderThan: new Date(Date.now() - 60_000) })));
          await table.checkoutLatest();
          counts.optimizes += 1;
        }
      };
      await Promise.all([appender(), appender(), searcher(1), searcher(2), optimizer()]);
      expect(counts.appends).toBeGreaterThan(20);
      expect(counts.searches).toBeGreaterThan(20);
      expect(counts.optimizes).toBeGreaterThan(2);
      await table.checkoutLatest();
      expect(await table.countRows()).toBe(next);
    } finally {
      table.close();
      upkeepTable.close();
      reader.close();
      upkeep.close();
    }
  }, 90_000);
});
