import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { SpendLedger } from '../../src/budget/ledger.js';
import type { Table } from '../../src/memory/db.js';
import { EpisodeStore } from '../../src/memory/episodes.js';
import { GroupCommitter } from '../../src/memory/group-commit.js';
import { tableUpkeep, TableUpkeep } from '../../src/memory/table-upkeep.js';
import type { RunScope } from '../../src/memory/types.js';
import { useTempMemory } from './helpers.js';

const scope: RunScope = { userId: 'u-ada', channelId: 'c-ops', guildId: 'g-1' };
const mem = useTempMemory();

const fragments = async (table: Table) => (await table.stats()).fragmentStats.numFragments;
const versions = async (table: Table) => (await table.listVersions()).length;

/** One run as a stream of turns writes it: begun, then finished (two commits). */
async function oneRun(episodes: EpisodeStore, n: number): Promise<void> {
  const id = `run-${n}`;
  await episodes.begin({ id, goal: `goal ${n}`, mode: 'react', trigger: 'mention', scope, visibility: 'channel', startedAt: n });
  await episodes.finish(id, { status: 'succeeded', steps: [], answer: `answer ${n}`, reason: null, usage: { promptTokens: 1, completionTokens: 1 }, costUsd: 0, endedAt: n + 1 });
}

afterEach(async () => {
  await tableUpkeep.close();
  tableUpkeep.configure({ compactEveryCommits: 32, keepVersionsMs: 60_000 });
});

describe('table upkeep', () => {
  it('keeps the episodes table to a bounded number of fragments and versions however many runs are written, with every run intact', async () => {
    const memory = await mem.open();
    tableUpkeep.configure({ compactEveryCommits: 10, keepVersionsMs: 0 }, silentLogger());
    const episodes = new EpisodeStore(memory.db.episodes);
    for (let n = 0; n < 100; n++) await oneRun(episodes, n);
    await tableUpkeep.idle();

    // 200 commits: without upkeep that is ~300 fragments and versions (see the next test).
    expect(await fragments(memory.db.episodes)).toBeLessThanOrEqual(11);
    expect(await versions(memory.db.episodes)).toBeLessThanOrEqual(12);
    expect(await episodes.count()).toBe(100);
    const sample = await Promise.all([0, 50, 99].map((n) => episodes.get(`run-${n}`)));
    expect(sample.map((e) => [e?.status, e?.answer])).toEqual([
      ['succeeded', 'answer 0'],
      ['succeeded', 'answer 50'],
      ['succeeded', 'answer 99'],
    ]);
  });

  it('is what bounds them: with compaction never due, every commit stays a fragment', async () => {
    const memory = await mem.open();
    tableUpkeep.configure({ compactEveryCommits: Number.POSITIVE_INFINITY, keepVersionsMs: 0 });
    const episodes = new EpisodeStore(memory.db.episodes);
    for (let n = 0; n < 40; n++) await oneRun(episodes, n);
    await tableUpkeep.idle();

    expect(await fragments(memory.db.episodes)).toBeGreaterThanOrEqual(40);
  });

  it('keeps versions younger than the grace period for readers in other processes', async () => {
    const memory = await mem.open();
    tableUpkeep.configure({ compactEveryCommits: 10, keepVersionsMs: 3_600_000 });
    const episodes = new EpisodeStore(memory.db.episodes);
    for (let n = 0; n < 30; n++) await oneRun(episodes, n);
    await tableUpkeep.idle();

    expect(await fragments(memory.db.episodes)).toBeLessThanOrEqual(11);
    // Nothing is an hour old: every version (60 writes, their compactions) is still readable.
    expect(await versions(memory.db.episodes)).toBeGreaterThanOrEqual(60);
    const first = (await memory.db.episodes.listVersions())[1];
    if (first === undefined) throw new Error('no early version');
    await memory.db.episodes.checkout(first.version);
    expect(await memory.db.episodes.countRows()).toBe(1);
    await memory.db.episodes.checkoutLatest();
  });

  it('compacts append-only tables written outside group commit (the spend ledger)', async () => {
    const memory = await mem.open();
    tableUpkeep.configure({ compactEveryCommits: 10, keepVersionsMs: 0 });
    const ledger = new SpendLedger(memory.db.spend);
    for (let n = 0; n < 60; n++) await ledger.record({ id: `run-${n}`, userId: n % 2 === 0 ? 'u-ada' : 'guild:g-1', kind: 'run', usd: 0.5, at: 1_000 + n });
    await tableUpkeep.idle();

    expect(await fragments(memory.db.spend)).toBeLessThanOrEqual(11);
    expect(await ledger.spentSince(0)).toEqual(new Map([['u-ada', 15], ['guild:g-1', 15]]));
  });

  it('group commit tells its own upkeep of each commit, not of each change', async () => {
    const memory = await mem.open();
    const upkeep = new TableUpkeep({ compactEveryCommits: 5, keepVersionsMs: 0 });
    const writer = new GroupCommitter(memory.db.meta, 'key', upkeep);
    // 40 changes in one tick share a commit: no compaction is due.
    await Promise.all(Array.from({ length: 40 }, (_, n) => writer.apply(`k-${n}`, () => ({ key: `k-${n}`, value: String(n) }))));
    await upkeep.idle();
    for (let n = 0; n < 20; n++) await writer.apply(`k-${n}`, () => ({ key: `k-${n}`, value: `again ${n}` }));
    await upkeep.idle();

    expect(await fragments(memory.db.meta)).toBeLessThanOrEqual(5);
    expect(await memory.db.meta.countRows(`key LIKE 'k-%'`)).toBe(40);
    expect(await memory.db.meta.countRows(`value LIKE 'again %'`)).toBe(20);
    await upkeep.close();
  });
});
