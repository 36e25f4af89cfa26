import { describe, expect, it } from 'vitest';
import type { Memory } from '../../src/memory/memory.js';
import type { RunScope } from '../../src/memory/types.js';
import { useTempMemory } from './helpers.js';

const ada: RunScope = { userId: 'u-ada', channelId: 'c-ops', guildId: 'g-1' };
const bob: RunScope = { userId: 'u-bob', channelId: 'c-ops', guildId: 'g-1' };
const adas = `user_id = 'u-ada'`;

const mem = useTempMemory();

async function begin(memory: Memory, id: string, startedAt: number, scope = ada): Promise<void> {
  await memory.episodes.begin({ id, goal: `goal of ${id}`, mode: 'react', trigger: 'slash', scope, visibility: 'channel', startedAt });
}

/** Breaks a stored run's JSON columns: parsing that row in full now throws. */
async function corrupt(memory: Memory, id: string): Promise<void> {
  await memory.db.episodes.update({ where: `id = '${id}'`, valuesSql: { steps: `'not json ['`, feedback: `'{'` } });
}

describe('EpisodeStore.list', () => {
  it('returns the newest N runs, newest first, whatever order they were written in', async () => {
    const memory = await mem.open();
    for (const [id, at] of [['r3', 300], ['r1', 100], ['r5', 500], ['r2', 200], ['r4', 400]] as const) await begin(memory, id, at);
    await begin(memory, 'bob-9', 900, bob);

    expect((await memory.episodes.list(adas, 3)).map((e) => e.id)).toEqual(['r5', 'r4', 'r3']);
    expect((await memory.episodes.list(adas)).map((e) => e.id)).toEqual(['r5', 'r4', 'r3', 'r2', 'r1']);
    expect((await memory.episodes.list(undefined, 2)).map((e) => e.id)).toEqual(['bob-9', 'r5']);
    expect(await memory.episodes.list(adas, 0)).toEqual([]);
  });

  it('reads in full only the rows it returns: an older row with corrupt JSON does not make it throw', async () => {
    const memory = await mem.open();
    for (let i = 1; i <= 4; i++) await begin(memory, `r${i}`, i * 100);
    await corrupt(memory, 'r1');

    expect((await memory.episodes.list(adas, 3)).map((e) => e.id)).toEqual(['r4', 'r3', 'r2']);
    // The same row, once inside the limit, is parsed, and fails: the proof that it was not read before.
    await expect(memory.episodes.list(adas, 4)).rejects.toThrow();
  });

  it('walks a whole history batch by batch: a consumer that stops early never parses the rest', async () => {
    const memory = await mem.open();
    await Promise.all(Array.from({ length: 6 }, (_, i) => begin(memory, `r${i + 1}`, (i + 1) * 100)));
    await corrupt(memory, 'r1');

    const seen: string[] = [];
    for await (const episode of memory.episodes.newestFirst(adas, Number.POSITIVE_INFINITY, 2)) {
      seen.push(episode.id);
      if (seen.length === 4) break;
    }
    expect(seen).toEqual(['r6', 'r5', 'r4', 'r3']);
  });

  it('counts and tells run ends without parsing steps', async () => {
    const memory = await mem.open();
    await begin(memory, 'early', 1_000);
    await begin(memory, 'today-1', 50_000);
    await begin(memory, 'today-2', 60_000, bob);
    await begin(memory, 'still-running', 70_000);
    const end = { steps: [], answer: 'ok', reason: null, usage: { promptTokens: 1, completionTokens: 1 } };
    await memory.episodes.finish('today-1', { ...end, status: 'succeeded', costUsd: 0.25, endedAt: 55_000 });
    await memory.episodes.finish('today-2', { ...end, status: 'failed', costUsd: null, endedAt: 65_000 });
    for (const id of ['early', 'today-1', 'today-2', 'still-running']) await corrupt(memory, id);

    expect(await memory.episodes.count(adas)).toBe(3);
    expect(await memory.episodes.count()).toBe(4);
    const ends = await memory.episodes.endTimes(['today-1', 'still-running', 'never-was']);
    expect([...ends.entries()].sort()).toEqual([
      ['still-running', null],
      ['today-1', 55_000],
    ]);
  });
});

describe('EpisodeStore.markInterrupted', () => {
  it('marks runs left running, but not those resumed nor those other processes may still be running', async () => {
    const memory = await mem.open();
    await begin(memory, 'old', 1_000);
    await begin(memory, 'resumed', 1_000);
    await begin(memory, 'recent', 9_000);
    const marked = await memory.episodes.markInterrupted('restarted', 10_000, new Set(['resumed']), 5_000);
    expect(marked.map((e) => e.id)).toEqual(['old']);
    expect((await memory.episodes.get('old'))?.status).toBe('interrupted');
    expect((await memory.episodes.get('recent'))?.status).toBe('running');
    // Without the bound (one process: nothing else runs them), every run left running is.
    expect((await memory.episodes.markInterrupted('restarted', 10_000)).map((e) => e.id).sort()).toEqual(['recent', 'resumed']);
  });
});
