import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { dmKey, messageKey, threadKey } from '../../src/conversations/keys.js';
import { renderReports, StoredScheduleReports } from '../../src/conversations/schedule-reports.js';
import { Conversations } from '../../src/conversations/service.js';
import { ConversationStore, PrivateTurnError, type OpenTable } from '../../src/conversations/store.js';
import { TURNS_TABLE } from '../../src/conversations/schema.js';
import type { NewTurn } from '../../src/conversations/types.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function openStore(limits = { maxTurnChars: 6_000, maxPerChannel: 1_000 }): Promise<{ store: ConversationStore; connection: lancedb.Connection }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-conversations-'));
  const connection = await lancedb.connect(dir);
  const open: OpenTable = async (name, schema) =>
    (await connection.tableNames()).includes(name) ? connection.openTable(name) : connection.createEmptyTable(name, schema, { mode: 'create' });
  cleanups.push(async () => {
    connection.close();
    await rm(dir, { recursive: true, force: true });
  });
  let clock = 1_000_000;
  return { store: new ConversationStore(open, silentLogger(), limits, () => (clock += 1_000)), connection };
}

const said = (authorId: string, text: string, at: number, messageIds: string[] = []): NewTurn => ({
  role: 'user',
  authorId,
  authorName: authorId.toUpperCase(),
  text,
  runId: null,
  messageIds,
  createdAt: at,
});
const answered = (text: string, at: number, messageIds: string[] = []): NewTurn => ({ role: 'assistant', authorId: 'cairn', authorName: 'Cairn', text, runId: 'r1', messageIds, createdAt: at });
const shared = { kind: 'thread' as const, visibility: 'channel' as const, ownerId: null, guildId: 'g1', channelId: 'c1' };

describe('ConversationStore', () => {
  it('finds a conversation by any of its keys — the thread, a person’s message, each answer message — and keeps turns in order', async () => {
    const { store } = await openStore();
    const started = await store.create(shared, [threadKey('t1')]);
    // Stored out of order: read back by time.
    const after = await store.append(started, [answered('second', 20, ['m2', 'm3']), said('alice', 'first', 10, ['m1'])]);
    expect(after.turns).toBe(2);
    for (const key of [threadKey('t1'), messageKey('m1'), messageKey('m2'), messageKey('m3')]) expect((await store.find([key]))?.id).toBe(started.id);
    expect(await store.find([messageKey('nope')])).toBeUndefined();
    expect((await store.turns(started.id)).map((t) => t.text)).toEqual(['first', 'second']);
    expect((await store.get(started.id))?.turns).toBe(2);
    // Keys in order of preference: the first that leads somewhere wins.
    const other = await store.create(shared, [threadKey('t2')]);
    expect((await store.find([messageKey('nope'), threadKey('t2'), threadKey('t1')]))?.id).toBe(other.id);
  });

  it('orders turns of one millisecond by their message ids (a reply sent as the answer arrived)', async () => {
    const { store } = await openStore();
    let thread = await store.create(shared, []);
    thread = await store.append(thread, [said('alice', 'question', 5, ['1000000000000000001']), answered('answer', 7, ['1000000000000000002'])]);
    await store.append(thread, [said('bob', 'follow-up', 7, ['1000000000000000003']), answered('second answer', 9, ['1000000000000000004'])]);
    expect((await store.turns(thread.id)).map((t) => t.text)).toEqual(['question', 'answer', 'follow-up', 'second answer']);
  });

  it('refuses a private turn in a shared conversation, and keeps a DM’s turns its owner’s', async () => {
    const { store } = await openStore();
    const thread = await store.create(shared, []);
    await expect(store.append(thread, [{ ...said('alice', 'my secret', 1), visibility: 'private' }])).rejects.toBeInstanceOf(PrivateTurnError);
    expect(await store.turns(thread.id)).toEqual([]);
    const dm = await store.create({ kind: 'dm', visibility: 'private', ownerId: 'alice', guildId: null, channelId: 'd1' }, [dmKey('d1')]);
    await store.append(dm, [said('alice', 'hello', 1)]);
    expect(await store.turns(dm.id)).toMatchObject([{ visibility: 'private', ownerId: 'alice' }]);
  });

  it('bounds the text of a turn and the conversations of a channel', async () => {
    const { store } = await openStore({ maxTurnChars: 100, maxPerChannel: 3 });
    const first = await store.create(shared, [threadKey('t0')]);
    await store.append(first, [said('alice', 'x'.repeat(500), 1)]);
    expect((await store.turns(first.id))[0]?.text).toMatch(/^x{80,} … \[shortened\]$/);
    expect((await store.turns(first.id))[0]?.text.length).toBeLessThanOrEqual(100);
    for (let i = 1; i <= 3; i++) await store.create(shared, [threadKey(`t${i}`)]);
    // The fourth conversation in c1 pushed out the least recently used one, with its turns and links.
    expect(await store.get(first.id)).toBeUndefined();
    expect(await store.find([threadKey('t0')])).toBeUndefined();
    expect(await store.turns(first.id)).toEqual([]);
    expect(await store.find([threadKey('t3')])).toBeDefined();
  });

  it('skips a malformed row instead of failing the conversation', async () => {
    const { store, connection } = await openStore();
    const thread = await store.create(shared, []);
    await store.append(thread, [said('alice', 'fine', 1)]);
    const turns = await connection.openTable(TURNS_TABLE);
    await turns.add([{ id: 'bad', conversation_id: thread.id, role: 'wizard', author_id: 'x', author_name: 'x', text: 'x', run_id: null, visibility: 'channel', owner_id: null, message_ids: 'not json', created_at: 2 }]);
    expect((await store.turns(thread.id)).map((t) => t.text)).toEqual(['fine']);
  });
});

describe('Conversations', () => {
  it('gives a run only the turns its person may see, attributed, within a share of the window', async () => {
    const { store } = await openStore();
    const conversations = new Conversations(store, () => Promise.resolve(8_000), { maxTurns: 6, historyTokens: 6_000, windowShare: 0.25 });
    const thread = await conversations.start(shared, [threadKey('t1')]);
    const recorded = await conversations.record(thread, [said('alice', 'We ship on Friday.', 1), answered('Friday it is.', 2), said('bob', 'And the demo is Monday.', 3), answered('Noted.', 4)]);
    const run = await conversations.forRun(recorded, { id: 'carol', name: 'Carol' });
    expect(run.history.map((m) => m.content)).toEqual(['[ALICE · another person] We ship on Friday.', 'Friday it is.', '[BOB · another person] And the demo is Monday.', 'Noted.']);
    expect(run.historyFromOthers).toEqual([0, 2]);
    expect(run.briefing).toMatch(/You are answering Carol/);
    expect(run.briefing).toMatch(/\(ALICE, BOB\)/);
    expect(await conversations.historyBudget()).toBe(2_000);
    expect(conversations.isFull(recorded)).toBe(false);
    expect(conversations.isFull({ ...recorded, turns: 5 })).toBe(true);
  });

  it('continues a full conversation from a summary that keeps its first and latest turns', async () => {
    const { store } = await openStore();
    const conversations = new Conversations(store, () => Promise.resolve(8_000), { maxTurns: 10, historyTokens: 6_000, windowShare: 0.25 });
    let thread = await conversations.start(shared, [threadKey('t1')]);
    thread = await conversations.record(thread, [said('alice', 'Plan the offsite in Lisbon.', 1), answered('Here is a plan.', 2)]);
    for (let i = 0; i < 4; i++) thread = await conversations.record(thread, [said('bob', `Detail ${i}`, 10 + 2 * i), answered(`Done ${i}`, 11 + 2 * i)]);
    expect(conversations.isFull(thread)).toBe(true);
    const { next, summary } = await conversations.continueFromSummary(thread, [threadKey('t1')], 100);
    expect(summary.split('\n')[0]).toBe('- ALICE: Plan the offsite in Lisbon.');
    expect(summary).toContain('Done 3');
    expect((await conversations.find([threadKey('t1')]))?.id).toBe(next.id);
    const run = await conversations.forRun(next, { id: 'alice', name: 'Alice' });
    expect(run.history).toHaveLength(1);
    expect(run.history[0]?.content).toMatch(/^Summary of the earlier conversation, which reached 10 turns/);
  });
});

describe('a schedule’s reports', () => {
  it('keeps the last few reports in order and renders them within a budget, the latest whole', async () => {
    const { store } = await openStore();
    const reports = new StoredScheduleReports(store, 3);
    for (let i = 1; i <= 5; i++) await reports.keep('s1', { runId: `r${i}`, text: `Report number ${i}. ${'padding '.repeat(i === 5 ? 10 : 400)}`, at: Date.UTC(2026, 0, i) });
    const recent = await reports.recent('s1');
    expect(recent.map((r) => r.runId)).toEqual(['r3', 'r4', 'r5']);
    expect(await reports.recent('other')).toEqual([]);
    const lines = renderReports(recent, 1_200).join('\n');
    expect(lines).toMatch(/^Your earlier reports, oldest first/);
    expect(lines.indexOf('Report number 3')).toBeLessThan(lines.indexOf('Report number 4'));
    expect(lines).toMatch(/Your previous report, from 2026-01-05T00:00:00.000Z, said:\n<<<\nReport number 5\./);
    // One report: worded as the single previous report always was.
    expect(renderReports(recent.slice(-1))[0]).toBe('Your previous report, from 2026-01-05T00:00:00.000Z, said:');
    // A tight budget shortens the oldest, then leaves them out.
    expect(renderReports(recent, 700).join('\n')).toMatch(/1 older one left out|Report of 2026-01-03T00:00:00.000Z: <<< /);
  });
});
