import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { QueueScheduleClock } from '../../src/queue/schedule-clock.js';
import type { Firing } from '../../src/scheduler/clock.js';
import { freshSchedule, type Schedule } from '../../src/scheduler/store.js';
import { useRedisServer } from '../support/use-redis-server.js';

const redisServer = useRedisServer();
const HANGING_FIRER = fileURLToPath(new URL('../support/hanging-firer.ts', import.meta.url));
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function schedule(id: string, cron: string, timeZone = 'UTC'): Schedule {
  return freshSchedule({ id, cron, timeZone, goal: 'report', mode: 'react', guildId: 'g', channelId: 'c', creatorId: 'u', creatorName: 'u', notify: 'always', createdAt: Date.now(), nextRunAt: null });
}

/** `count` processes' clocks on one Redis (their own prefix per test). */
function clocks(count: number, fires = true): QueueScheduleClock[] {
  const prefix = `test-${randomUUID()}`;
  return Array.from({ length: count }, () => {
    const clock = new QueueScheduleClock(redisServer().url, { fires, concurrency: 2, lockMs: 2_000, prefix }, silentLogger());
    closers.push(() => clock.close());
    return clock;
  });
}

describe('the shared schedule clock (BullMQ job schedulers on a real redis-server)', () => {
  it('fires a per-second schedule once per firing across three processes', async () => {
    const all = clocks(3);
    const every = schedule('persec', '* * * * * *');
    const firings: { clock: number; firing: Firing }[] = [];
    // Each process starts with the same table: the first writes the scheduler, the others find it written.
    await Promise.all(
      all.map((clock, n) =>
        clock.start([every], async (id, firing) => {
          expect(id).toBe('persec');
          firings.push({ clock: n, firing });
          await new Promise((r) => setTimeout(r, 50));
        }),
      ),
    );
    const began = Date.now();
    await new Promise((r) => setTimeout(r, 5_000));
    await all[0]?.unset('persec');
    const due = firings.map((f) => f.firing.scheduledAt);
    expect(new Set(due).size).toBe(due.length);
    // About one a second (a firing may straddle the edges of the window).
    expect(due.length).toBeGreaterThanOrEqual(4);
    expect(due.length).toBeLessThanOrEqual(6);
    for (const at of due) expect(at % 1000).toBe(0);
    expect(Math.min(...due)).toBeGreaterThanOrEqual(began - 1_000);
  }, 20_000);

  it('never runs a schedule twice at once, whichever processes its firings land on', async () => {
    const all = clocks(2);
    const every = schedule('slow', '* * * * * *');
    let running = 0;
    let most = 0;
    let runs = 0;
    await Promise.all(
      all.map((clock) =>
        clock.start([every], async () => {
          running += 1;
          runs += 1;
          most = Math.max(most, running);
          // Slower than the schedule: the next firings come while it runs.
          await new Promise((r) => setTimeout(r, 2_500));
          running -= 1;
        }),
      ),
    );
    await new Promise((r) => setTimeout(r, 5_500));
    await all[0]?.unset('slow');
    expect(most).toBe(1);
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(runs).toBeLessThanOrEqual(3);
  }, 20_000);

  it('a schedule removed in one process fires in none', async () => {
    const [a, b] = clocks(2);
    if (a === undefined || b === undefined) throw new Error('two clocks');
    const fired: string[] = [];
    const record = (id: string) => {
      fired.push(id);
      return Promise.resolve();
    };
    const table = [schedule('keep', '* * * * * *'), schedule('drop', '* * * * * *')];
    await a.start(table, record);
    await b.start(table, record);
    await b.unset('drop');
    const before = fired.filter((id) => id === 'drop').length;
    await new Promise((r) => setTimeout(r, 2_500));
    expect(fired.filter((id) => id === 'drop').length).toBeLessThanOrEqual(before + 1);
    expect(fired.filter((id) => id === 'keep').length).toBeGreaterThanOrEqual(2);
  }, 20_000);

  it('writes a scheduler only when it differs from the table: a restart with the same table leaves it as it was', async () => {
    const [a, b] = clocks(2, false);
    if (a === undefined || b === undefined) throw new Error('two clocks');
    const daily = schedule('daily', '0 9 * * *', 'Europe/Paris');
    await a.start([daily], () => Promise.resolve());
    const { Redis } = await import('ioredis');
    const client = new Redis(redisServer().url);
    closers.push(async () => {
      await client.quit();
    });
    const keys = async () => (await client.keys('*daily*')).sort();
    const written = await keys();
    const delayed = await client.zrange((written.find((k) => k.endsWith(':delayed')) ?? 'none'), 0, -1);
    await b.start([daily], () => Promise.resolve());
    expect(await keys()).toEqual(written);
    expect(await client.zrange((written.find((k) => k.endsWith(':delayed')) ?? 'none'), 0, -1)).toEqual(delayed);
    // Changed in the table (its time zone): rewritten. Gone from the table: removed.
    await b.reconcile([{ ...daily, timeZone: 'America/New_York' }]);
    expect(await client.hget(written.find((k) => k.endsWith(':repeat:daily')) ?? 'none', 'tz')).toBe('America/New_York');
    await b.reconcile([]);
    expect(await client.exists(written.find((k) => k.endsWith(':repeat:daily')) ?? 'none')).toBe(0);
  }, 20_000);

  it('refuses an expression the clock cannot take, saying why, and fires the rest', async () => {
    const [a] = clocks(1, false);
    const refused = await a?.start([schedule('bad', 'not a cron'), schedule('good', '0 9 * * *')], () => Promise.resolve());
    expect([...(refused?.keys() ?? [])]).toEqual(['bad']);
    expect(refused?.get('bad')).toMatch(/cannot be scheduled/);
  });
});

describe('a firing whose worker dies before handling it', () => {
  it('is handled by the next delivery, with the same key (so the same run id), once', async () => {
    const prefix = `test-${randomUUID()}`;
    const lockMs = 1_000;
    const child = spawn(process.execPath, ['--import', 'tsx', HANGING_FIRER, redisServer().url, prefix, String(lockMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    closers.push(async () => {
      child.kill('SIGKILL');
      await exited;
    });
    let out = '';
    const line = (pattern: RegExp) =>
      new Promise<RegExpExecArray>((resolve) => {
        const check = () => {
          const found = pattern.exec(out);
          if (found !== null) {
            child.stdout.off('data', onData);
            resolve(found);
          }
        };
        const onData = (chunk: Buffer) => {
          out += chunk.toString();
          check();
        };
        child.stdout.on('data', onData);
        check();
      });
    await line(/^ready$/m);

    // The child takes the first firing and hangs; it is the only process firing until it dies.
    const writer = new QueueScheduleClock(redisServer().url, { fires: false, concurrency: 1, lockMs, prefix }, silentLogger());
    closers.push(() => writer.close());
    await writer.start([], () => Promise.resolve());
    await writer.set(schedule('dies', '* * * * * *'));
    const key = (await line(/^fired (\S+)$/m))[1] ?? '';
    expect(key).toMatch(/^repeat:dies:\d{13}$/);
    await writer.unset('dies');
    child.kill('SIGKILL');
    await exited;

    const handled: Firing[] = [];
    const next = new QueueScheduleClock(redisServer().url, { fires: true, concurrency: 1, lockMs, prefix }, silentLogger());
    closers.push(() => next.close());
    await next.start([], async (_id, firing) => {
      handled.push(firing);
      await new Promise((r) => setTimeout(r, 50));
    });
    // Taken again once its lock lapses (BullMQ's stalled-job check), and handled here.
    await expect.poll(() => handled.map((f) => f.key), { timeout: 15_000, interval: 200 }).toContain(key);
    await new Promise((r) => setTimeout(r, 3 * lockMs));
    expect(handled.filter((f) => f.key === key)).toHaveLength(1);
  }, 40_000);
});
