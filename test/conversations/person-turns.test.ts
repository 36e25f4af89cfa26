/** A person's conversation turns in their export, and forgotten with them (`cairn memory forget --user`). */
import { describe, expect, it } from 'vitest';
import { dmKey, threadKey } from '../../src/conversations/keys.js';
import { StoredPersonTurns } from '../../src/conversations/person-turns.js';
import { StoredScheduleReports } from '../../src/conversations/schedule-reports.js';
import { TURNS_TABLE } from '../../src/conversations/schema.js';
import { ConversationStore, type OpenTable } from '../../src/conversations/store.js';
import type { NewTurn } from '../../src/conversations/types.js';
import { silentLogger } from '../../src/log.js';
import type { MemoryDb } from '../../src/memory/db.js';
import { collectWithin, drain } from '../../src/memory/export.js';
import type { Memory } from '../../src/memory/memory.js';
import { useTempMemory } from '../memory/helpers.js';

const mem = useTempMemory();

const said = (authorId: string, text: string, runId: string | null, at: number): NewTurn => ({
  role: 'user',
  authorId,
  authorName: authorId.toUpperCase(),
  text,
  runId,
  messageIds: [],
  createdAt: at,
});
const answered = (text: string, runId: string | null, at: number): NewTurn => ({ role: 'assistant', authorId: 'cairn', authorName: 'Cairn', text, runId, messageIds: [], createdAt: at });
const thread = { kind: 'thread' as const, visibility: 'channel' as const, ownerId: null, guildId: 'g1', channelId: 'c1' };

/** Memory as app.ts opens it (conversation turns wired in), and a store over the same database. */
async function open(tables: (db: MemoryDb) => OpenTable = (db) => (name, schema) => db.table(name, schema)): Promise<{ memory: Memory; store: ConversationStore }> {
  const memory = await mem.open({ personTurns: (db) => new StoredPersonTurns(tables(db), silentLogger()) });
  return { memory, store: new ConversationStore((name, schema) => memory.db.table(name, schema), silentLogger()) };
}

/**
 * Alice and Bob in one thread (a run each), Alice's DM with a summary in it, a schedule's report,
 * and Carol elsewhere.
 */
async function twoPeople(store: ConversationStore): Promise<{ shared: string; dm: string }> {
  const shared = await store.create(thread, [threadKey('t1')]);
  await store.append(shared, [said('alice', 'Alice: plan the offsite', 'r-a', 10), answered('Offsite plan for Alice', 'r-a', 11)]);
  await store.append((await store.get(shared.id)) ?? shared, [said('bob', 'Bob: and the budget?', 'r-b', 20), answered('Budget answer for Bob', 'r-b', 21)]);
  const dm = await store.create({ kind: 'dm', visibility: 'private', ownerId: 'alice', guildId: null, channelId: 'dm-alice' }, [dmKey('dm-alice')]);
  await store.append(dm, [answered('Summary of Alice’s DM', null, 30), said('alice', 'Alice: my locker code is 4512', 'r-dm', 31), answered('Noted, Alice', 'r-dm', 32)]);
  await new StoredScheduleReports(store).keep('s1', { runId: 'r-s', text: 'Queue report', at: 40 });
  const elsewhere = await store.create({ ...thread, channelId: 'c2' }, [threadKey('t2')]);
  await store.append(elsewhere, [said('carol', 'Carol: hello', 'r-c', 50), answered('Hello Carol', 'r-c', 51)]);
  return { shared: shared.id, dm: dm.id };
}

describe('a person’s conversation turns', () => {
  it('are in their export, newest first: what they wrote, their DM and Cairn’s answers to them — nobody else’s', async () => {
    const { memory, store } = await open();
    await twoPeople(store);
    const exported = await memory.exportUser('alice');
    expect(exported.conversationTurns.map((t) => t.text)).toEqual([
      'Noted, Alice',
      'Alice: my locker code is 4512',
      'Summary of Alice’s DM',
      'Offsite plan for Alice',
      'Alice: plan the offsite',
    ]);
    // The streamed JSON is the same data.
    const streamed = JSON.parse((await drain(memory.exportUserJson('alice'))).join('')) as { conversationTurns: unknown[] };
    expect(streamed.conversationTurns).toEqual(JSON.parse(JSON.stringify(exported.conversationTurns)));
    expect((await memory.exportUser('bob')).conversationTurns.map((t) => t.text)).toEqual(['Budget answer for Bob', 'Bob: and the budget?']);
  });

  it('are forgotten with the person: the DM whole, their turns and the answers to them; everyone else’s stay', async () => {
    const { memory, store } = await open();
    const { shared, dm } = await twoPeople(store);
    expect(await memory.forgetUser('alice')).toEqual({ memories: 0, workingBlocks: 0, episodes: 0, conversationTurns: 5 });

    expect((await memory.exportUser('alice')).conversationTurns).toEqual([]);
    expect((await store.turns(shared)).map((t) => t.text)).toEqual(['Bob: and the budget?', 'Budget answer for Bob']);
    // The shared conversation's count follows (it decides when a conversation is full).
    expect((await store.get(shared))?.turns).toBe(2);
    expect(await store.get(dm)).toBeUndefined();
    expect(await store.find([dmKey('dm-alice')])).toBeUndefined();
    expect((await store.find([threadKey('t1')]))?.id).toBe(shared);
    expect((await new StoredScheduleReports(store).recent('s1')).map((r) => r.text)).toEqual(['Queue report']);
    expect((await memory.exportUser('carol')).conversationTurns).toHaveLength(2);
  });

  it('are streamed: an export over the limit stops reading turns at the first batch', async () => {
    let turnQueries = 0;
    // Counts the queries on the turns table (keys, then two per batch of 100 turns).
    const counting = (db: MemoryDb): OpenTable => async (name, schema) => {
      const table = await db.table(name, schema);
      if (name !== TURNS_TABLE) return table;
      return new Proxy(table, {
        get(target, key) {
          if (key === 'query') turnQueries++;
          const value: unknown = Reflect.get(target, key, target);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
    };
    const { memory, store } = await open(counting);
    const chat = await store.create(thread, []);
    const turns = Array.from({ length: 125 }, (_, i) => [said('alice', `question ${i} ${'x'.repeat(200)}`, `r${i}`, 1_000 + 2 * i), answered(`answer ${i}`, `r${i}`, 1_001 + 2 * i)]).flat();
    await store.append(chat, turns);

    turnQueries = 0;
    expect(await collectWithin(memory.exportUserJson('alice'), 4_000)).toBeNull();
    // The keys, then the first batch and its answers; a whole read takes 1 + 2 × 2.
    expect(turnQueries).toBeLessThanOrEqual(3);
    turnQueries = 0;
    const whole = await collectWithin(memory.exportUserJson('alice'), 1_000_000);
    expect((JSON.parse(whole?.toString('utf8') ?? 'null') as { conversationTurns: unknown[] }).conversationTurns).toHaveLength(250);
    expect(turnQueries).toBe(5);
  });
});
