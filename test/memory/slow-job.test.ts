import { describe, expect, it } from 'vitest';
import { writeLock } from '../../src/memory/write-lock.js';
import { captureLogger } from '../llm/helpers.js';
import { useTempMemory } from './helpers.js';

const scope = { userId: 'u1', channelId: 'c1', guildId: 'g1' };

describe('memory maintenance that does not finish', () => {
  const temp = useTempMemory();

  it('is reported as an error while it runs, naming the job, and the job still completes afterwards', async () => {
    const { log, lines } = captureLogger();
    const memory = await temp.open({ log, maintenance: { slowJobMs: 100 } });
    await memory.semantic.save({ text: 'the release is on Friday', kind: 'fact', scope, visibility: 'channel' });
    const stuckErrors = () => lines().filter((l) => l.msg === 'memory maintenance job still running; indexes are not being updated meanwhile (restart Cairn if this persists)');
    // Another holder of the maintenance lock (another process building an index, say) keeps the optimize waiting.
    let refreshed: Promise<void> | undefined;
    await writeLock(await temp.dir(), `${memory.db.memories.name}.maintenance`).run(async () => {
      refreshed = memory.maintenance.refreshIndexes();
      await expect.poll(() => stuckErrors().length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    });
    await refreshed;
    expect(stuckErrors()[0]).toMatchObject({ level: 50, job: 'optimize' });
    const reported = stuckErrors().length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(stuckErrors()).toHaveLength(reported);
    // It did its work once the lock was free: the saved row is in every index.
    const { indexes } = await memory.stats();
    expect(indexes.length).toBeGreaterThan(0);
    for (const index of indexes) expect(index).toMatchObject({ indexedRows: 1, unindexedRows: 0 });
  });
});
