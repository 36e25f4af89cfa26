import { describe, expect, it } from 'vitest';
import { StoredPersonTurns } from '../../src/conversations/person-turns.js';
import { ConversationStore } from '../../src/conversations/store.js';
import { silentLogger } from '../../src/log.js';
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

/** Memory as app.ts opens it: conversation turns are part of a person's export. */
function openWithTurns(): Promise<Memory> {
  return mem.open({ personTurns: (db) => new StoredPersonTurns((name, schema) => db.table(name, schema), silentLogger()) });
}

describe('a user’s export, streamed', () => {
  it('is exactly the JSON of the whole export (same shape, same two-space layout), piece by piece', async () => {
    const memory = await openWithTurns();
    await memory.semantic.save({ text: 'Ada likes Rust\nand "quotes"', kind: 'fact', scope: ada, visibility: 'private' });
    await memory.semantic.save({ text: 'Ada said hello in ops', kind: 'turn', scope: ada, visibility: 'channel', speaker: 'Ada' });
    await memory.working.append('user:u-ada', 'user profile', 'Ada, backend');
    await runs(memory, 3);
    await memory.episodes.vote('r0001', { userId: 'u-ada', vote: 'down', comment: 'too long', at: 5 });
    // Ada and Bob in one thread: her turn and the answer to her are hers, his are not.
    const store = new ConversationStore((name, schema) => memory.db.table(name, schema), silentLogger());
    const thread = await store.create({ kind: 'thread', visibility: 'channel', ownerId: null, guildId: 'g-1', channelId: 'c-ops' }, []);
    const turn = (authorId: string, text: string, runId: string, createdAt: number) => ({ role: authorId === 'cairn' ? ('assistant' as const) : ('user' as const), authorId, authorName: authorId, text, runId, messageIds: [], createdAt });
    await store.append(thread, [turn('u-ada', 'Ada asks\nabout "quotes"', 'r0002', 10), turn('cairn', 'Answer to Ada', 'r0002', 11), turn('u-bob', 'Bob asks', 'rb', 12), turn('cairn', 'Answer to Bob', 'rb', 13)]);

    const pieces = await drain(memory.exportUserJson('u-ada', at));
    const whole = { ...(await memory.exportUser('u-ada')), exportedAt: at.toISOString() };
    expect(pieces.join('')).toBe(JSON.stringify(whole, null, 2));
    expect(pieces.length).toBeGreaterThanOrEqual(2 + 1 + 3);
    expect(Object.keys(whole)).toEqual(['userId', 'exportedAt', 'memories', 'workingMemory', 'episodes', 'conversationTurns', 'runRecords']);
    expect(whole.episodes.map((e) => e.id)).toEqual(['r0002', 'r0001', 'r0000']);
    expect(whole.conversationTurns.map((t) => t.text)).toEqual(['Answer to Ada', 'Ada asks\nabout "quotes"']);

    const empty = (await drain(memory.exportUserJson('u-nobody', at))).join('');
    expect(empty).toBe(JSON.stringify({ userId: 'u-nobody', exportedAt: at.toISOString(), memories: [], workingMemory: [], episodes: [], conversationTurns: [], runRecords: [] }, null, 2));
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
