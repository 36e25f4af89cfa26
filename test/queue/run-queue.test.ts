import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { ControlChannel, type ControlMessage } from '../../src/queue/control.js';
import { RunQueue } from '../../src/queue/run-queue.js';
import { RunWorker, type RunJobHandler } from '../../src/queue/run-worker.js';
import { useRedisServer } from '../support/use-redis-server.js';

const redisServer = useRedisServer();

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A queue and its workers under a prefix of their own: tests share one Redis. */
function setup(): { queue: RunQueue; worker: (handler: RunJobHandler, concurrency?: number) => RunWorker } {
  const prefix = `test-${randomUUID()}`;
  const queue = RunQueue.open(redisServer().url, prefix);
  closers.push(() => queue.close());
  return {
    queue,
    worker: (handler, concurrency = 1) => {
      const worker = RunWorker.start(redisServer().url, { concurrency, lockMs: 2_000, prefix }, handler, silentLogger());
      closers.push(() => worker.close());
      return worker;
    },
  };
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('the run queue (BullMQ on a real redis-server)', () => {
  it('adds a run once however often it is added, shows each waiting run its place, and runs them in order', async () => {
    const { queue, worker } = setup();
    for (const id of ['run-a', 'run-b', 'run-a', 'run-c']) await queue.add(id);
    expect(await Promise.all(['run-a', 'run-b', 'run-c', 'nope'].map((id) => queue.place(id)))).toEqual([1, 2, 3, null]);
    expect(Object.fromEntries(await queue.places())).toEqual({ 'run-a': 1, 'run-b': 2, 'run-c': 3 });
    expect((await queue.depth()).waiting).toBe(3);
    expect((await queue.depth()).oldestWaitingSince).toBeGreaterThan(Date.now() - 60_000);
    const seen: string[] = [];
    const all = deferred();
    worker((runId) => {
      seen.push(runId);
      if (seen.length === 3) all.resolve();
      return Promise.resolve('done');
    });
    await all.promise;
    expect(seen).toEqual(['run-a', 'run-b', 'run-c']);
    await until(async () => (await queue.depth()).active === 0);
    expect(await queue.place('run-b')).toBeNull();
  });

  it('runs at most `concurrency` runs at once per worker, and more with more workers', async () => {
    const { queue, worker } = setup();
    let running = 0;
    let most = 0;
    const release = deferred();
    const handler: RunJobHandler = async () => {
      running += 1;
      most = Math.max(most, running);
      await release.promise;
      running -= 1;
      return 'done';
    };
    for (let i = 0; i < 6; i += 1) await queue.add(`run-${i}`);
    worker(handler, 2);
    await until(() => running === 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(running).toBe(2);
    worker(handler, 2);
    await until(() => running === 4);
    expect((await queue.depth()).waiting).toBe(2);
    release.resolve();
    await until(async () => (await queue.depth()).waiting === 0 && running === 0);
    expect(most).toBe(4);
  });

  it('puts a run a shutdown suspended back in line, where another worker takes it', async () => {
    const { queue, worker } = setup();
    const first = deferred<string>();
    const second = deferred<string>();
    const stopping = worker((runId) => {
      first.resolve(runId);
      return Promise.resolve('suspended');
    });
    await queue.add('run-x');
    expect(await first.promise).toBe('run-x');
    await stopping.close();
    worker((runId) => {
      second.resolve(runId);
      return Promise.resolve('done');
    });
    expect(await second.promise).toBe('run-x');
  });

  it('removes a run that has not started, but not one a worker has taken', async () => {
    const { queue, worker } = setup();
    await queue.add('waiting');
    expect(await queue.removeWaiting('waiting')).toBe(true);
    expect(await queue.place('waiting')).toBeNull();
    const taken = deferred();
    const release = deferred();
    worker(async () => {
      taken.resolve();
      await release.promise;
      return 'done';
    });
    await queue.add('taken');
    await taken.promise;
    expect(await queue.removeWaiting('taken')).toBe(false);
    release.resolve();
  });

  it('carries cancels and approvals between processes, and ignores malformed messages', async () => {
    const got: ControlMessage[] = [];
    const prefix = `test-${randomUUID()}`;
    const listener = await ControlChannel.open(redisServer().url, (m) => got.push(m), silentLogger(), prefix);
    const sender = await ControlChannel.open(redisServer().url, () => undefined, silentLogger(), prefix);
    closers.push(() => listener.close(), () => sender.close());
    await sender.publish({ kind: 'cancel', runId: 'run-1', reason: 'the run was cancelled' });
    await sender.publish({ kind: 'approval', token: 'abc' });
    await until(() => got.length === 2);
    expect(got).toEqual([
      { kind: 'cancel', runId: 'run-1', reason: 'the run was cancelled' },
      { kind: 'approval', token: 'abc' },
    ]);
    await expect(sender.publish({ kind: 'cancel', runId: '', reason: 'x' })).rejects.toThrow();
  });
});
