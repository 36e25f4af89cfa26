import { describe, expect, it } from 'vitest';
import { EmbedderMismatchError } from '../../src/memory/db.js';
import { readableScopes, type RunScope } from '../../src/memory/types.js';
import { WorkingMemoryError } from '../../src/memory/working.js';
import { useTempMemory, wordEmbedder } from './helpers.js';

const ada: RunScope = { userId: 'u-ada', channelId: 'c-ops', guildId: 'g-1' };
const bob: RunScope = { userId: 'u-bob', channelId: 'c-ops', guildId: 'g-1' };
const bobElsewhere: RunScope = { userId: 'u-bob', channelId: 'c-random', guildId: 'g-1' };

const mem = useTempMemory();

async function recallTexts(memory: Awaited<ReturnType<typeof mem.open>>, query: string, scope: RunScope): Promise<string[]> {
  const hits = await memory.semantic.recall({ query, scopes: readableScopes(scope), limit: 10 });
  return hits.map((h) => h.memory.text);
}

describe('semantic memory', () => {
  it('survives a restart: memories, working blocks and episodes are all there after reopening', async () => {
    let memory = await mem.open();
    await memory.semantic.save({ text: 'The deploy window is Tuesday at 14:00 UTC', kind: 'fact', scope: ada, visibility: 'channel' });
    await memory.working.append('user:u-ada', 'user profile', 'Prefers short answers.');
    await memory.episodes.begin({ id: 'run-1', goal: 'plan the deploy', mode: 'react', trigger: 'cli', scope: ada, visibility: 'channel', startedAt: 1 });
    await memory.close();

    memory = await mem.open();
    expect(await recallTexts(memory, 'when is the deploy window', ada)).toContain('The deploy window is Tuesday at 14:00 UTC');
    expect((await memory.working.view('user:u-ada', 'user profile')).text).toBe('Prefers short answers.');
    expect(await memory.episodes.get('run-1')).toMatchObject({ goal: 'plan the deploy', status: 'running' });
  });

  it("keeps a user's private memories out of everyone else's recall", async () => {
    const memory = await mem.open();
    await memory.semantic.save({ text: 'Ada secret: my badge code is 4471', kind: 'fact', scope: ada, visibility: 'private' });
    await memory.semantic.save({ text: 'Ops channel badge policy: badges renew yearly', kind: 'fact', scope: ada, visibility: 'channel' });
    await memory.semantic.save({ text: 'Guild badge colours are blue', kind: 'fact', scope: ada, visibility: 'guild' });

    expect(await recallTexts(memory, 'badge code', ada)).toHaveLength(3);
    const bobSees = await recallTexts(memory, 'badge code', bob);
    expect(bobSees).toEqual(expect.arrayContaining(['Ops channel badge policy: badges renew yearly', 'Guild badge colours are blue']));
    expect(bobSees.join()).not.toContain('4471');
    expect(await recallTexts(memory, 'badge code', bobElsewhere)).toEqual(['Guild badge colours are blue']);
  });

  it('stores the same content once per scope, but keeps repeated turns as separate events', async () => {
    const memory = await mem.open();
    const first = await memory.semantic.save({ text: 'Standup is at 9:30', kind: 'fact', scope: ada, visibility: 'channel' });
    const again = await memory.semantic.save({ text: '  standup   is at 9:30 ', kind: 'fact', scope: bob, visibility: 'channel' });
    expect(again).toEqual({ id: first.id, created: false });
    const batch = await memory.semantic.saveMany([
      { text: 'Standup is at 9:30', kind: 'fact', scope: ada, visibility: 'private' },
      { text: 'Standup is at 9:30', kind: 'fact', scope: ada, visibility: 'private' },
    ]);
    expect(batch[0]?.created).toBe(true);
    expect(batch[1]).toEqual({ id: batch[0]?.id, created: false });
    await memory.semantic.saveMany([
      { text: 'yes!', kind: 'turn', scope: ada, visibility: 'channel', speaker: 'Ada', createdAt: new Date(1_000) },
      { text: 'yes!', kind: 'turn', scope: ada, visibility: 'channel', speaker: 'Ada', createdAt: new Date(2_000) },
    ]);
    expect(await memory.semantic.count()).toBe(4);
  });

  it('explains each score from both the vector and the full-text ranking', async () => {
    const memory = await mem.open();
    await memory.semantic.save({ text: 'The database backup runs nightly at 02:00', kind: 'fact', scope: ada, visibility: 'private' });
    const [hit] = await memory.semantic.recall({ query: 'database backup', scopes: readableScopes(ada) });
    // Its own words hold every query word: the rerank's full ×1.3 (importance 0.5 is neutral).
    expect(hit?.explanation).toMatchObject({ vectorRank: 1, textRank: 1 });
    expect(hit?.explanation.boost).toBeCloseTo(1.3, 6);
    expect(hit?.explanation.similarity).toBeGreaterThan(0.3);
    expect(hit?.explanation.bm25).toBeGreaterThan(0);
    // Rank 1 in both lists with k = 20 and equal weights (the test embedder sets none), then boosted.
    expect(hit?.score).toBeCloseTo((2 / 21) * 1.3, 6);
  });

  it('matches keywords in rows written since the full-text index was last updated (after a restart)', async () => {
    let memory = await mem.open();
    // Separate writes, as a run makes them: a saved fact, then the run's two turns.
    await memory.semantic.save({ text: 'The ops team deploys on Tuesdays at 14:00 UTC.', kind: 'fact', scope: ada, visibility: 'private' });
    await memory.semantic.save({ text: 'Remember that we deploy on Tuesdays', kind: 'turn', scope: ada, visibility: 'private', speaker: 'Ada' });
    await memory.semantic.save({
      text: 'Noted: deploys are on Tuesdays.',
      kind: 'turn',
      scope: ada,
      visibility: 'private',
      speaker: 'Cairn',
      context: 'Remember that we deploy on Tuesdays',
    });
    await memory.close();
    memory = await mem.open();
    const hits = await memory.semantic.recall({ query: 'deploy', scopes: readableScopes(ada) });
    expect(hits.filter((h) => h.explanation.textRank !== null)).toHaveLength(3);
  });

  it('filters by kind and by time', async () => {
    const memory = await mem.open();
    await memory.semantic.saveMany([
      { text: 'coffee machine fixed', kind: 'note', scope: ada, visibility: 'private', createdAt: new Date('2026-01-01') },
      { text: 'coffee machine broken again', kind: 'turn', scope: ada, visibility: 'private', createdAt: new Date('2026-06-01') },
    ]);
    const scopes = readableScopes(ada);
    expect((await memory.semantic.recall({ query: 'coffee machine', scopes, kinds: ['note'] })).map((h) => h.memory.kind)).toEqual(['note']);
    const recent = await memory.semantic.recall({ query: 'coffee machine', scopes, since: Date.parse('2026-03-01') });
    expect(recent.map((h) => h.memory.text)).toEqual(['coffee machine broken again']);
  });

  it('stops recalling expired memories and deletes them on the next sweep', async () => {
    let now = 1_000_000;
    const memory = await mem.open({ now: () => now });
    await memory.semantic.save({ text: 'Temporary door code 1234', kind: 'fact', scope: ada, visibility: 'private', ttlMs: 60_000 });
    expect(await recallTexts(memory, 'door code', ada)).toHaveLength(1);
    now += 61_000;
    expect(await recallTexts(memory, 'door code', ada)).toHaveLength(0);
    await memory.maintenance.sweep();
    expect(await memory.semantic.count()).toBe(0);
  });

  it('evicts the least valuable memories above the size cap', async () => {
    const memory = await mem.open({ maintenance: { maxMemories: 10 } });
    await memory.semantic.saveMany(
      Array.from({ length: 15 }, (_, i) => ({
        text: `memory number ${i}`,
        kind: 'fact' as const,
        scope: ada,
        visibility: 'private' as const,
        importance: i < 5 ? 0.05 : 0.9,
      })),
    );
    await memory.maintenance.sweep();
    const left = await memory.semantic.list(`scope = 'user:u-ada'`);
    expect(left.length).toBeLessThanOrEqual(10);
    expect(left.every((m) => m.importance > 0.5)).toBe(true);
  });

  it('counts accesses without a write per recall', async () => {
    const memory = await mem.open();
    const { id } = await memory.semantic.save({ text: 'Release notes live in the wiki', kind: 'fact', scope: ada, visibility: 'private' });
    for (let i = 0; i < 3; i++) await memory.semantic.recall({ query: 'release notes wiki', scopes: readableScopes(ada) });
    expect((await memory.semantic.get(id))?.accessCount).toBe(0);
    await memory.maintenance.runAll();
    expect((await memory.semantic.get(id))?.accessCount).toBe(3);
  });

  it('refuses to open with a different embedder and says how to fix it', async () => {
    const memory = await mem.open();
    await memory.semantic.save({ text: 'something', kind: 'fact', scope: ada, visibility: 'private' });
    await memory.close();
    const reopening = mem.open({ embedder: wordEmbedder('other-embedder', 32) });
    await expect(reopening).rejects.toBeInstanceOf(EmbedderMismatchError);
    await expect(reopening).rejects.toThrow(/"test-words" \(64 dimensions\).*"other-embedder" \(32 dimensions\).*npx cairn memory reembed/);
  });

  it('refuses empty and oversized memories with a clear message', async () => {
    const memory = await mem.open();
    await expect(memory.semantic.save({ text: '   ', kind: 'fact', scope: ada, visibility: 'private' })).rejects.toThrow(/needs some text/);
    await expect(memory.semantic.save({ text: 'x'.repeat(9_000), kind: 'fact', scope: ada, visibility: 'private' })).rejects.toThrow(/at most 8000/);
  });
});

describe('working memory', () => {
  it('never loses a write when many edits to one block race', async () => {
    const memory = await mem.open();
    await Promise.all(Array.from({ length: 20 }, (_, i) => memory.working.append('channel:c-ops', 'channel notes', `note ${i}`)));
    const block = await memory.working.view('channel:c-ops', 'channel notes');
    expect(block.text.split('\n').sort()).toEqual(Array.from({ length: 20 }, (_, i) => `note ${i}`).sort());
  });

  it('enforces the character limit on every write path', async () => {
    const memory = await mem.open();
    await memory.working.append('user:u-ada', 'user profile', 'x'.repeat(1_990));
    await expect(memory.working.append('user:u-ada', 'user profile', 'y'.repeat(20))).rejects.toThrow(/over its limit of 2000/);
    await expect(memory.working.replace('user:u-ada', 'user profile', 'x'.repeat(10), 'z'.repeat(40))).rejects.toThrow(WorkingMemoryError);
    await expect(memory.working.set('user:u-ada', 'user profile', 'w'.repeat(2_001))).rejects.toThrow(/limit/);
    expect((await memory.working.view('user:u-ada', 'user profile')).text).toBe('x'.repeat(1_990));
  });

  it('replaces only an exact, unique match', async () => {
    const memory = await mem.open();
    await memory.working.set('user:u-ada', 'user profile', 'Name: Ada\nTimezone: UTC\nTimezone note');
    await expect(memory.working.replace('user:u-ada', 'user profile', 'Bob', 'x')).rejects.toThrow(/does not occur/);
    await expect(memory.working.replace('user:u-ada', 'user profile', 'Timezone', 'x')).rejects.toThrow(/more than once/);
    const block = await memory.working.replace('user:u-ada', 'user profile', 'Timezone: UTC', 'Timezone: Europe/Oslo');
    expect(block.text).toBe('Name: Ada\nTimezone: Europe/Oslo\nTimezone note');
  });

  it("shows a run its user's and channel's blocks with sizes and limits", async () => {
    const memory = await mem.open();
    await memory.working.append('user:u-ada', 'user profile', 'Likes tea');
    const blocks = await memory.working.blocksFor(ada);
    expect(blocks.map((b) => [b.scopeKey, b.label, b.text.length, b.charLimit])).toEqual([
      ['user:u-ada', 'user profile', 9, 2000],
      ['channel:c-ops', 'channel notes', 0, 4000],
    ]);
  });
});

describe('a user’s data', () => {
  it('can be exported as JSON and forgotten completely', async () => {
    const memory = await mem.open();
    await memory.semantic.save({ text: 'Ada likes Rust', kind: 'fact', scope: ada, visibility: 'private' });
    await memory.semantic.save({ text: 'Ada said hello in ops', kind: 'turn', scope: ada, visibility: 'channel', speaker: 'Ada' });
    await memory.semantic.save({ text: 'Bob likes Go', kind: 'fact', scope: bob, visibility: 'private' });
    await memory.working.append('user:u-ada', 'user profile', 'Ada, backend');
    await memory.episodes.begin({ id: 'run-a', goal: 'hi', mode: 'react', trigger: 'slash', scope: ada, visibility: 'channel', startedAt: 5 });

    const exported = await memory.exportUser('u-ada');
    expect(exported.memories.map((m) => m.text).sort()).toEqual(['Ada likes Rust', 'Ada said hello in ops']);
    expect(exported.workingMemory.map((b) => b.text)).toEqual(['Ada, backend']);
    expect(exported.episodes.map((e) => e.id)).toEqual(['run-a']);
    expect(() => JSON.stringify(exported)).not.toThrow();

    // Opened without conversation tables (app.ts wires them in): no turns to forget.
    expect(await memory.forgetUser('u-ada')).toEqual({ memories: 2, workingBlocks: 1, episodes: 1, conversationTurns: 0 });
    const after = await memory.exportUser('u-ada');
    expect([after.memories.length, after.workingMemory.length, after.episodes.length]).toEqual([0, 0, 0]);
    expect(await recallTexts(memory, 'likes', bob)).toEqual(['Bob likes Go']);
  });
});
