import { describe, expect, it } from 'vitest';
import { collectWithin, drain } from '../../src/memory/export.js';
import type { Memory } from '../../src/memory/memory.js';
import type { RunScope } from '../../src/memory/types.js';
import { useTempMemory } from './helpers.js';

const ada: RunScope = { userId: 'u-ada', channelId: 'c-ops', guildId: 'g-1' };
const at = new Date('2025-03-01T12:00:00.000Z');

const mem = useTempMemory();

/** Counts the pieces a consumer takes, and whether it closed the stream. */
function counted(pieces: AsyncGenerator<string>): { stream: AsyncIterable<string>; taken: () => number } {
  let taken = 0;
  return {
    taken: () => taken,
    stream: (async function* () {
      for await (const piece of pieces) {
        taken++;
        yield piece;
      }
    })(),
  };
}

async function runs(memory: Memory, count: number, goal = (i: number) => `goal ${i}`): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      memory.episodes.begin({ id: `r${String(i).padStart(4, '0')}`, goal: goal(i), mode: 'react', trigger: 'slash', scope: ada, visibility: 'channel', startedAt: 1_000 + i }),
    ),
  );
}

describe('a user’s export, streamed', () => {
  it('is exactly the JSON of the whole export (same shape, same two-space layout), piece by piece', async () => {
    const memory = await mem.open();
    await memory.semantic.save({ text: 'Ada likes Rust\nand "quotes"', kind: 'fact', scope: ada, visibility: 'private' });
    await memory.semantic.save({ text: 'Ada said hello in ops', kind: 'turn', scope: ada, visibility: 'channel', speaker: 'Ada' });
    await memory.working.append('user:u-ada', 'user profile', 'Ada, backend');
    await runs(memory, 3);
    await memory.episodes.vote('r0001', { userId: 'u-ada', vote: 'down', comment: 'too long', at: 5 });

    const pieces = await drain(memory.exportUserJson('u-ada', at));
    const whole = { ...(await memory.exportUser('u-ada')), exportedAt: at.toISOString() };
    expect(pieces.join('')).toBe(JSON.stringify(whole, null, 2));
    expect(pieces.length).toBeGreaterThanOrEqual(2 + 1 + 3);
    expect(Object.keys(whole)).toEqual(['userId', 'exportedAt', 'memories', 'workingMemory', 'episodes']);
    expect(whole.episodes.map((e) => e.id)).toEqual(['r0002', 'r0001', 'r0000']);

    const empty = (await drain(memory.exportUserJson('u-nobody', at))).join('');
    expect(empty).toBe(JSON.stringify({ userId: 'u-nobody', exportedAt: at.toISOString(), memories: [], workingMemory: [], episodes: [] }, null, 2));
  });

  it('refuses an export over the limit as soon as it would pass it, without reading the rest', async () => {
    const memory = await mem.open();
    // 150 runs: two batches of full rows. The oldest is corrupt, so reading everything would throw.
    await runs(memory, 150, (i) => `goal ${i} ${'x'.repeat(200)}`);
    await memory.db.episodes.update({ where: `id = 'r0000'`, valuesSql: { steps: `'not json ['` } });
    await expect(drain(memory.exportUserJson('u-ada'))).rejects.toThrow();

    const { stream, taken } = counted(memory.exportUserJson('u-ada'));
    expect(await collectWithin(stream, 4_000)).toBeNull();
    // Each run is a piece of several hundred bytes: the limit stopped it after a handful.
    expect(taken()).toBeLessThan(15);
  });

  it('gives the whole export when it fits', async () => {
    const memory = await mem.open();
    await runs(memory, 5);
    const json = await collectWithin(memory.exportUserJson('u-ada'), 1_000_000);
    const parsed = JSON.parse(json?.toString('utf8') ?? 'null') as { episodes: { id: string }[] };
    expect(parsed.episodes.map((e) => e.id)).toEqual(['r0004', 'r0003', 'r0002', 'r0001', 'r0000']);
    expect(await collectWithin(memory.exportUserJson('u-ada'), (json?.length ?? 0) - 1)).toBeNull();
  });
});
