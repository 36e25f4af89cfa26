import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { withCommitRetry } from '../../src/memory/db.js';
import { forgettingRunRecords } from '../../src/runs/person-runs.js';
import { RUN_RECORDS_TABLE, runRecordsSchema } from '../../src/runs/schema.js';
import { RUN_RECORD_KEEP_MS, RUN_RECORD_PRUNE_EVERY_MS, RunRecordStore } from '../../src/runs/store.js';
import type { RunRecord } from '../../src/runs/types.js';
import { useTempMemory } from '../memory/helpers.js';

const mem = useTempMemory();

afterEach(() => {
  vi.useRealTimers();
});

async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let tries = 0; tries < 200; tries++) {
    if (await check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('never came true');
}
const NOW = Date.parse('2026-03-20T15:00:00Z');

const record = (over: Partial<RunRecord>): RunRecord => ({
  runId: 'run-aaaaaa',
  userId: '100000000000000001',
  guildId: '200000000000000001',
  channelId: '300000000000000001',
  goal: 'Summarise the changelog',
  mode: 'plan',
  private: false,
  source: 'slash',
  attachments: [{ name: 'notes.txt', url: 'https://cdn.discordapp.com/attachments/1/2/notes.txt', size: 12, contentType: 'text/plain' }],
  retryOf: null,
  filesOut: [],
  createdAt: NOW,
  ...over,
});

async function openStore(now = () => NOW) {
  const memory = await mem.open();
  return { memory, store: new RunRecordStore((name, schema) => memory.db.table(name, schema), silentLogger(), now) };
}

describe('run records', () => {
  it('keeps what a run was asked, its retries oldest first, and where its files went', async () => {
    const { store } = await openStore();
    await store.save(record({}));
    await store.save(record({ runId: 'run-retry2', retryOf: 'run-aaaaaa', source: 'retry', createdAt: NOW + 2 }));
    await store.save(record({ runId: 'run-retry1', retryOf: 'run-aaaaaa', source: 'retry', createdAt: NOW + 1 }));
    await store.setFilesOut('run-aaaaaa', [{ name: 'chart.png', path: 'out/chart.png', bytes: 2048, posted: true }]);

    expect(await store.get('run-aaaaaa')).toEqual(record({ filesOut: [{ name: 'chart.png', path: 'out/chart.png', bytes: 2048, posted: true }] }));
    expect(await store.retriesOf('run-aaaaaa')).toEqual(['run-retry1', 'run-retry2']);
    expect(await store.retriesOf('run-retry1')).toEqual([]);
    expect(await store.get('run-unknown')).toBeNull();
  });

  it('keeps the message an Ask Cairn run was asked about', async () => {
    const { store } = await openStore();
    const askedAbout = { messageId: '400000000000000001', channelId: '300000000000000001', authorId: '100000000000000002', authorName: 'Bob', text: 'Is this right?', createdAt: NOW - 5 };
    await store.save(record({ runId: 'run-asked1', source: 'ask', askedAbout }));
    expect((await store.get('run-asked1'))?.askedAbout).toEqual(askedAbout);
  });

  it('does not invent a record when files are set for a run it never kept', async () => {
    const { store } = await openStore();
    await store.setFilesOut('run-nothing', [{ name: 'a.txt', path: 'a.txt', bytes: 1, posted: false }]);
    expect(await store.get('run-nothing')).toBeNull();
  });

  it('treats a malformed row as absent instead of passing it on', async () => {
    const { memory, store } = await openStore();
    await store.save(record({}));
    const table = await memory.db.table(RUN_RECORDS_TABLE, runRecordsSchema);
    await withCommitRetry(table, () => table.update({ where: `run_id = 'run-aaaaaa'`, values: { attachments: '{not json' } }));
    expect(await store.get('run-aaaaaa')).toBeNull();
  });

  it('drops records older than the retention period when opened', async () => {
    const { memory } = await openStore();
    const early = new RunRecordStore((name, schema) => memory.db.table(name, schema), silentLogger(), () => NOW);
    await early.save(record({ runId: 'run-oldone', createdAt: NOW - RUN_RECORD_KEEP_MS - 1 }));
    await early.save(record({ runId: 'run-recent', createdAt: NOW }));
    const later = new RunRecordStore((name, schema) => memory.db.table(name, schema), silentLogger(), () => NOW + 1);
    expect(await later.get('run-oldone')).toBeNull();
    expect(await later.get('run-recent')).not.toBeNull();
  });

  it('opens and prunes at start, then drops old records every day while it runs', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    let now = NOW;
    const { store } = await openStore(() => now);
    await store.save(record({ runId: 'run-oldone', createdAt: NOW - RUN_RECORD_KEEP_MS + 10 }));
    await store.save(record({ runId: 'run-recent', createdAt: NOW }));
    await store.ready();
    expect(await store.get('run-oldone')).not.toBeNull();
    // A day later the first one is past the retention period: the daily pruning drops it.
    now = NOW + RUN_RECORD_PRUNE_EVERY_MS;
    vi.advanceTimersByTime(RUN_RECORD_PRUNE_EVERY_MS);
    await eventually(async () => (await store.get('run-oldone')) === null);
    expect(await store.get('run-recent')).not.toBeNull();
    await store.close();
  });

  it('cuts or leaves out over-long fields on the way in, so the record always reads back', async () => {
    const { store } = await openStore();
    const longName = `${'n'.repeat(2_996)}.txt`;
    const longUrl = `https://cdn.discordapp.com/attachments/1/2/${'u'.repeat(4_000)}`;
    await store.save(
      record({
        runId: 'run-longer',
        attachments: [
          { name: longName, url: 'https://cdn.discordapp.com/attachments/1/2/a.txt', size: 3, contentType: 'x'.repeat(300) },
          { name: 'b.txt', url: longUrl, size: 4, contentType: 'text/plain' },
        ],
        filesOut: [{ name: longName, path: 'out/a.txt', bytes: 1, posted: true }],
        askedAbout: { messageId: '400000000000000001', channelId: '300000000000000001', authorId: '100000000000000002', authorName: 'B'.repeat(3_000), text: 'hi', createdAt: NOW },
      }),
    );
    const kept = await store.get('run-longer');
    expect(kept).not.toBeNull();
    // The name is cut; a file whose URL cannot be kept whole is left out (a cut URL fetches nothing).
    expect(kept?.attachments).toEqual([{ name: longName.slice(0, 1_024), url: 'https://cdn.discordapp.com/attachments/1/2/a.txt', size: 3, contentType: null }]);
    expect(kept?.filesOut[0]?.name).toHaveLength(1_024);
    expect(kept?.askedAbout?.authorName).toHaveLength(256);
    await store.setFilesOut('run-longer', [{ name: 'c.txt', path: `out/${'p'.repeat(5_000)}`, bytes: 1, posted: false }, { name: longName, path: 'out/d.txt', bytes: 2, posted: true }]);
    expect((await store.get('run-longer'))?.filesOut).toEqual([{ name: longName.slice(0, 1_024), path: 'out/d.txt', bytes: 2, posted: true }]);
  });

  it('forgetting a person forgets the runs they started and the messages of theirs that were asked about', async () => {
    const { store } = await openStore();
    const alice = '100000000000000001';
    const bob = '100000000000000002';
    await store.save(record({ runId: 'run-alice1', userId: alice }));
    await store.save(record({ runId: 'run-bob001', userId: bob }));
    await store.save(record({ runId: 'run-askbob', userId: alice, source: 'ask', askedAbout: { messageId: '400000000000000001', channelId: '300000000000000001', authorId: bob, authorName: 'Bob', text: 'hi', createdAt: NOW } }));
    const turns = { turnsOf: async function* () {}, forgetUser: () => Promise.resolve(3) };
    const forgets = forgettingRunRecords(turns, store, silentLogger());
    expect(await forgets.forgetUser(bob)).toBe(3);
    expect(await store.get('run-bob001')).toBeNull();
    expect(await store.get('run-askbob')).toBeNull();
    expect(await store.get('run-alice1')).not.toBeNull();
  });
});
