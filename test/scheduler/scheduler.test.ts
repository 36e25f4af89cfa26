import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { describe, expect, it, vi } from 'vitest';
import { createScheduler } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { DEFAULT_MAINTENANCE, Maintenance } from '../../src/memory/maintenance.js';
import { DeliveryError } from '../../src/scheduler/delivery.js';
import type { NewSchedule } from '../../src/scheduler/scheduler.js';
import { ScheduleStore } from '../../src/scheduler/store.js';
import type { ChatCompletionRequestBody } from '../fakes/openai-server.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { formatOf } from '../agent/harness.js';
import { CHANNEL, useScheduler } from './helpers.js';

const openai = useFakeOpenAi();
const start = useScheduler(openai);

const daily = (extra: Partial<NewSchedule> = {}): NewSchedule => ({
  cron: '0 9 * * *',
  timeZone: 'Europe/Oslo',
  goal: 'Summarise what changed on the status page',
  mode: 'react',
  notify: 'always',
  ...CHANNEL,
  ...extra,
});
const isRun = (body: ChatCompletionRequestBody) => formatOf(body) === null;
const done = async (outcome: Awaited<ReturnType<import('../../src/scheduler/scheduler.js').Scheduler['fire']>>) => {
  if (!outcome.started) throw new Error(`not started: ${outcome.why}`);
  return outcome.done;
};

describe('adding schedules', () => {
  it('validates the cron expression, time zone and interval with clear errors', async () => {
    const { scheduler } = await start();
    await expect(scheduler.add(daily({ cron: '61 * * * *' }))).rejects.toThrow('"61 * * * *" is not a valid cron expression (minute: 61 is out of range (0–59)).');
    await expect(scheduler.add(daily({ cron: 'every day' }))).rejects.toThrow(/expected 5 or 6 fields but got 2\)\. Use five fields/);
    await expect(scheduler.add(daily({ timeZone: 'Mars/Olympus' }))).rejects.toThrow('"Mars/Olympus" is not an IANA time zone.');
    await expect(scheduler.add(daily({ cron: '*/10 * * * * *' }))).rejects.toThrow(
      '"*/10 * * * * *" runs as often as every 10 s; the shortest interval allowed here is 60 s (CAIRN_MIN_SCHEDULE_INTERVAL_S).',
    );
    await expect(scheduler.add(daily({ goal: '  ' }))).rejects.toThrow(/goal is empty/);
    await expect(scheduler.add(daily({ goal: 'x'.repeat(2_001) }))).rejects.toThrow('The goal is 2001 characters long; at most 2000 are allowed.');
    expect(await scheduler.list(null)).toEqual([]);
  });

  it('keeps the schedule and gives its next three run times in its time zone', async () => {
    const { scheduler } = await start();
    const { schedule, nextRuns } = await scheduler.add(daily({ cron: '  0   9 * * 1-5 ', timeZone: 'europe/oslo' }));
    expect(schedule).toMatchObject({ cron: '0 9 * * 1-5', timeZone: 'Europe/Oslo', status: 'active', notify: 'always' });
    expect(schedule.id).toMatch(/^[0-9a-z]{6}$/);
    expect(nextRuns).toHaveLength(3);
    for (const run of nextRuns) {
      const local = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Oslo', hour: '2-digit', minute: '2-digit', weekday: 'short' }).format(run);
      expect(local).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 09:00$/);
    }
    expect(await scheduler.get(schedule.id)).toMatchObject({ goal: schedule.goal, nextRunAt: nextRuns[0]?.getTime() });
  });
});

describe('running schedules', () => {
  it('runs the goal as a scheduled run in the schedule’s scope and records run and delivery', async () => {
    const { scheduler, delivery, app } = await start();
    const { schedule } = await scheduler.add(daily());
    openai.script({ kind: 'text', content: 'All systems operational.' });
    const execution = await done(await scheduler.fire(schedule.id, 'manual'));
    expect(execution).toMatchObject({ delivered: true, deliveryError: null, pausedReason: null });
    expect(delivery.reports).toHaveLength(1);
    expect(delivery.reports[0]?.report).toMatchObject({ reason: 'manual', changed: null, result: { status: 'succeeded', answer: 'All systems operational.' } });
    const runId = execution?.result.runId ?? '';
    // The run acts for the schedule in its channel, not as its creator (whose private memories stay out of reports).
    expect(await app.memory.episodes.get(runId)).toMatchObject({ trigger: 'schedule', scope: { userId: `schedule-${schedule.id}`, channelId: 'c-reports', guildId: 'g1' } });
    expect(await scheduler.get(schedule.id)).toMatchObject({ lastRunId: runId, lastStatus: 'succeeded', lastReport: 'All systems operational.', lastDeliveryError: null, consecutiveFailures: 0 });
    expect((await scheduler.get(schedule.id))?.lastDeliveryAt).toBeGreaterThan(0);
  });

  it('on-change: an identical report is not posted, a changed one is, and the run sees the previous report', async () => {
    const { scheduler, delivery } = await start();
    const { schedule } = await scheduler.add(daily({ notify: 'on-change' }));
    openai.script({ kind: 'text', content: 'All systems operational.' });
    await done(await scheduler.fire(schedule.id, 'manual'));
    openai.script({ kind: 'text', content: 'All systems  operational.' });
    expect(await done(await scheduler.fire(schedule.id, 'manual'))).toMatchObject({ delivered: false });
    expect(JSON.stringify(openai.chatRequests().at(-1)?.messages[0])).toContain('Your previous report, from');
    openai.respondWith((body) =>
      isRun(body) ? { kind: 'text', content: 'The API is degraded since 08:40.' } : { kind: 'text', content: JSON.stringify({ changed: true, what: 'API degraded' }) },
    );
    expect(await done(await scheduler.fire(schedule.id, 'manual'))).toMatchObject({ delivered: true });
    expect(delivery.reports.map((r) => r.report.result.answer)).toEqual(['All systems operational.', 'The API is degraded since 08:40.']);
    expect(delivery.reports[1]?.report.changed).toBe(true);
    // Different words, same finding: the model says unchanged, nothing is posted.
    openai.respondWith((body) =>
      isRun(body) ? { kind: 'text', content: 'Since 08:40 the API has been degraded.' } : { kind: 'text', content: JSON.stringify({ changed: false, what: '' }) },
    );
    expect(await done(await scheduler.fire(schedule.id, 'manual'))).toMatchObject({ delivered: false });
  });

  it('on-failure posts only failed runs', async () => {
    const { scheduler, delivery } = await start();
    const { schedule } = await scheduler.add(daily({ notify: 'on-failure' }));
    openai.script({ kind: 'text', content: 'Fine.' });
    expect(await done(await scheduler.fire(schedule.id, 'manual'))).toMatchObject({ delivered: false });
    openai.script({ kind: 'error', status: 500, message: 'model down' });
    expect(await done(await scheduler.fire(schedule.id, 'manual'))).toMatchObject({ delivered: true });
    expect(delivery.reports[0]?.report.result.status).toBe('failed');
  });

  it('never overlaps a schedule with itself', async () => {
    const { scheduler } = await start();
    const { schedule } = await scheduler.add(daily());
    openai.script({ kind: 'text', content: 'Slow report.', delayMs: 300 });
    const first = await scheduler.fire(schedule.id, 'cron');
    expect(await scheduler.fire(schedule.id, 'cron')).toEqual({ started: false, why: 'its previous run is still going' });
    expect(await scheduler.fire(schedule.id, 'manual')).toEqual({ started: false, why: 'its previous run is still going' });
    await done(first);
    expect(openai.chatRequests()).toHaveLength(1);
  });

  it('runs at most the configured number of scheduled runs at once; the rest wait their turn', async () => {
    const { scheduler } = await start({ CAIRN_MAX_SCHEDULED_RUNS: '1' });
    const a = await scheduler.add(daily({ goal: 'Report A' }));
    const b = await scheduler.add(daily({ goal: 'Report B' }));
    // A's reply is held long enough that B, were it not waiting its turn, would have asked too.
    openai.script({ kind: 'text', content: 'A done.', delayMs: 2_000 }, { kind: 'text', content: 'B done.' });
    const first = await scheduler.fire(a.schedule.id, 'cron');
    const second = await scheduler.fire(b.schedule.id, 'cron');
    while (openai.chatRequests().length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(openai.chatRequests()).toHaveLength(1);
    expect((await done(second))?.result.answer).toBe('B done.');
    expect((await done(first))?.result.answer).toBe('A done.');
  });
});

describe('limits', () => {
  it('does not run a schedule its surface refuses (a spent daily budget), saying why', async () => {
    const { app, delivery, scheduler } = await start();
    const { schedule } = await scheduler.add(daily());
    const refusing = createScheduler(app, delivery, { refusal: (s) => (s.creatorId === 'u-ada' ? "its creator's daily budget of $5.00 is spent" : null) });
    expect(await refusing.fire(schedule.id, 'cron')).toEqual({ started: false, why: "its creator's daily budget of $5.00 is spent" });
    expect(await refusing.fire(schedule.id, 'manual')).toEqual({ started: false, why: "its creator's daily budget of $5.00 is spent" });
    expect(openai.chatRequests()).toHaveLength(0);
  });
});

describe('changes while running', () => {
  it('sees changes made by another process (the terminal) and honours them', async () => {
    const { app, scheduler } = await start();
    const { schedule } = await scheduler.add(daily());
    await scheduler.start();
    // A second connection to the same database, as `cairn schedule pause` would open.
    const other = await lancedb.connect(app.config.dataDir);
    const otherStore = new ScheduleStore(await other.openTable('schedules'));
    await otherStore.update(schedule.id, () => ({ status: 'paused', nextRunAt: null }));
    expect(await scheduler.fire(schedule.id, 'cron')).toEqual({ started: false, why: 'it is paused' });
    // …and a write of its own does not undo the pause.
    await scheduler.get(schedule.id);
    await new ScheduleStore(app.memory.db.schedules).update(schedule.id, () => ({ consecutiveFailures: 0 }));
    expect((await otherStore.get(schedule.id))?.status).toBe('paused');
    await otherStore.remove(schedule.id);
    await scheduler.reconcile();
    expect(await scheduler.get(schedule.id)).toBeUndefined();
    other.close();
  });

  it('does not run a firing that waited for a slot if its schedule was paused or removed meanwhile', async () => {
    const { scheduler } = await start({ CAIRN_MAX_SCHEDULED_RUNS: '1' });
    const a = await scheduler.add(daily({ goal: 'Report A' }));
    const b = await scheduler.add(daily({ goal: 'Report B' }));
    const c = await scheduler.add(daily({ goal: 'Report C' }));
    openai.script({ kind: 'text', content: 'A done.', delayMs: 300 });
    const first = await scheduler.fire(a.schedule.id, 'cron');
    const second = await scheduler.fire(b.schedule.id, 'cron');
    const third = await scheduler.fire(c.schedule.id, 'cron');
    await scheduler.pause(b.schedule.id);
    await scheduler.remove(c.schedule.id);
    expect((await done(first))?.result.answer).toBe('A done.');
    expect(await done(second)).toBeNull();
    expect(await done(third)).toBeNull();
    expect(openai.chatRequests()).toHaveLength(1);
  });

  it('on stop, firings waiting for a slot do not run, and new ones are refused', async () => {
    const { scheduler } = await start({ CAIRN_MAX_SCHEDULED_RUNS: '1' });
    const a = await scheduler.add(daily({ goal: 'Report A' }));
    const b = await scheduler.add(daily({ goal: 'Report B' }));
    openai.script({ kind: 'text', content: 'A done.', delayMs: 200 });
    const first = await scheduler.fire(a.schedule.id, 'cron');
    const second = await scheduler.fire(b.schedule.id, 'cron');
    // Stop once the first run is under way (a firing whose run has not started yet would not run).
    await vi.waitFor(() => {
      expect(openai.chatRequests()).toHaveLength(1);
    });
    scheduler.stop();
    expect(await scheduler.fire(b.schedule.id, 'manual')).toEqual({ started: false, why: 'Cairn is shutting down' });
    expect(await done(second)).toBeNull();
    expect((await done(first))?.result.answer).toBe('A done.');
    expect(openai.chatRequests()).toHaveLength(1);
  });

  it('records a run that cannot even start as a failure', async () => {
    const { app, scheduler } = await start();
    const { schedule } = await scheduler.add(daily({ notify: 'on-failure' }));
    // A file where the schedule's workspace directory should be: the run cannot make it.
    const workspaces = path.join(app.config.dataDir, 'workspaces');
    await mkdir(workspaces, { recursive: true });
    await writeFile(path.join(workspaces, `schedule-${schedule.id}`), 'in the way');
    const execution = await done(await scheduler.fire(schedule.id, 'manual'));
    expect(execution).toMatchObject({ delivered: true, result: { status: 'failed' } });
    expect(execution?.result.reason).toMatch(/^the run could not start: /);
    expect(await scheduler.get(schedule.id)).toMatchObject({ lastStatus: 'failed', consecutiveFailures: 1 });
  });

  it('keeps one workspace per schedule across runs, and deletes it with the schedule', async () => {
    const { app, scheduler } = await start();
    const { schedule } = await scheduler.add(daily());
    openai.script({ kind: 'tool_calls', calls: [{ name: 'write_file', arguments: { path: 'seen.txt', content: 'v1' } }] }, { kind: 'text', content: 'Noted.' });
    const first = await done(await scheduler.fire(schedule.id, 'manual'));
    const workspace = path.join(app.config.dataDir, 'workspaces', `schedule-${schedule.id}`);
    expect(first?.result.workspaceDir).toBe(workspace);
    expect(await readFile(path.join(workspace, 'seen.txt'), 'utf8')).toBe('v1');
    await scheduler.remove(schedule.id);
    await expect(readFile(path.join(workspace, 'seen.txt'), 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('limits how many schedules a server may have', async () => {
    const { scheduler } = await start({ CAIRN_MAX_SCHEDULES: '2' });
    await scheduler.add(daily());
    await scheduler.add(daily());
    await expect(scheduler.add(daily())).rejects.toThrow('This server already has 2 schedules, the most allowed (CAIRN_MAX_SCHEDULES). Remove one first.');
    await expect(scheduler.add(daily({ guildId: 'g2' }))).resolves.toBeDefined();
  });
});

describe('failures', () => {
  it('records a delivery failure and backs off cron firings', async () => {
    const { scheduler, delivery } = await start({ CAIRN_SCHEDULE_BACKOFF_S: '60' });
    const { schedule } = await scheduler.add(daily());
    delivery.failWith = new DeliveryError('Discord refused the request.', false);
    openai.script({ kind: 'text', content: 'Report.' });
    const before = Date.now();
    expect(await done(await scheduler.fire(schedule.id, 'manual'))).toMatchObject({ delivered: false, deliveryError: 'Discord refused the request.', pausedReason: null });
    const failed = await scheduler.get(schedule.id);
    expect(failed).toMatchObject({ status: 'active', lastStatus: 'succeeded', lastDeliveryError: 'Discord refused the request.', consecutiveFailures: 1, lastReport: null });
    expect(failed?.backoffUntil).toBeGreaterThanOrEqual(before + 60_000);
    const skipped = await scheduler.fire(schedule.id, 'cron');
    expect(skipped.started).toBe(false);
    expect(skipped.started ? '' : skipped.why).toMatch(/^it is backing off after 1 failure\(s\) until /);

    // The second failure doubles the backoff; a success clears it.
    openai.script({ kind: 'text', content: 'Report.' });
    await done(await scheduler.fire(schedule.id, 'manual'));
    const twice = await scheduler.get(schedule.id);
    expect((twice?.backoffUntil ?? 0) - Date.now()).toBeGreaterThan(110_000);
    delivery.failWith = null;
    openai.script({ kind: 'text', content: 'Report.' });
    await done(await scheduler.fire(schedule.id, 'manual'));
    expect(await scheduler.get(schedule.id)).toMatchObject({ consecutiveFailures: 0, backoffUntil: null, lastDeliveryError: null, lastReport: 'Report.' });
  });

  it('pauses after repeated failures and tells the creator', async () => {
    const { scheduler, delivery } = await start({ CAIRN_SCHEDULE_MAX_FAILURES: '2' });
    const { schedule } = await scheduler.add(daily({ notify: 'on-change' }));
    openai.respondWith(() => ({ kind: 'error', status: 500, message: 'model down' }));
    expect(await done(await scheduler.fire(schedule.id, 'manual'))).toMatchObject({ pausedReason: null });
    const second = await done(await scheduler.fire(schedule.id, 'manual'));
    expect(second?.pausedReason).toMatch(/^2 failures in a row \(last: the run failed: /);
    expect(await scheduler.get(schedule.id)).toMatchObject({ status: 'paused', consecutiveFailures: 2, nextRunAt: null });
    expect(delivery.toldCreator).toHaveLength(1);
    const told = delivery.toldCreator[0] ?? '';
    expect(told).toContain(`⏸️ Your schedule \`${schedule.id}\` (“Summarise what changed on the status page”) is paused: 2 failures in a row (last: the run failed: `);
    expect(told).toMatch(/model down\)\. Fix the cause, then `\/schedule resume id:\w+`\.$/);
    expect(await scheduler.fire(schedule.id, 'cron')).toEqual({ started: false, why: 'it is paused' });

    const resumed = await scheduler.resume(schedule.id);
    expect(resumed).toMatchObject({ status: 'active', consecutiveFailures: 0, pausedReason: null, backoffUntil: null });
  });

  it('pauses at once when the channel is gone or closed to Cairn, instead of retrying', async () => {
    const { scheduler, delivery } = await start();
    const { schedule } = await scheduler.add(daily());
    delivery.failWith = new DeliveryError('I cannot see that channel.', true);
    openai.script({ kind: 'text', content: 'Report.' });
    const execution = await done(await scheduler.fire(schedule.id, 'manual'));
    expect(execution?.pausedReason).toBe('the report could not be posted: I cannot see that channel.');
    expect(await scheduler.get(schedule.id)).toMatchObject({ status: 'paused', lastDeliveryError: 'I cannot see that channel.' });
    expect(delivery.toldCreator).toHaveLength(1);
  });
});

describe('restarts', () => {
  async function missedWhileDown(env: Record<string, string>) {
    const h = await start(env);
    const { schedule } = await h.scheduler.add(daily());
    // As if Cairn was down over its due time.
    await new ScheduleStore(h.app.memory.db.schedules).update(schedule.id, () => ({ nextRunAt: Date.now() - 3_600_000 }));
    openai.script({ kind: 'text', content: 'Caught up.' });
    const restarted = h.restart();
    await restarted.start();
    await restarted.settled();
    return { ...h, schedule, restarted };
  }

  it('reloads schedules and catches up one missed run', async () => {
    const { delivery, restarted, schedule } = await missedWhileDown({});
    expect(delivery.reports.map((r) => r.report.reason)).toEqual(['catch-up']);
    expect((await restarted.get(schedule.id))?.nextRunAt).toBeGreaterThan(Date.now());
  });

  it('skips missed runs when catch-up is off', async () => {
    const { delivery, restarted, schedule } = await missedWhileDown({ CAIRN_SCHEDULE_CATCH_UP: 'none' });
    expect(delivery.reports).toEqual([]);
    expect(openai.chatRequests()).toHaveLength(0);
    expect((await restarted.get(schedule.id))?.nextRunAt).toBeGreaterThan(Date.now());
  });

  it('fires on its cron schedule once started, without overlapping a slow run', async () => {
    const { scheduler, delivery } = await start({ CAIRN_MIN_SCHEDULE_INTERVAL_S: '1' });
    const { schedule } = await scheduler.add(daily({ cron: '* * * * * *' }));
    openai.script({ kind: 'text', content: 'Slow report.', delayMs: 2_200 }, { kind: 'text', content: 'Next report.' });
    await scheduler.start();
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    scheduler.stop();
    await scheduler.settled();
    // Fired every second, but the slow first run blocked the firings during it.
    expect(delivery.reports.length).toBeGreaterThanOrEqual(1);
    expect(delivery.reports.length).toBeLessThanOrEqual(2);
    expect(delivery.reports[0]?.report).toMatchObject({ reason: 'cron', result: { answer: 'Slow report.' } });
    expect(openai.chatRequests().length).toBe(delivery.reports.length);
    expect((await scheduler.get(schedule.id))?.lastStatus).toBe('succeeded');
  });
});

describe('storage', () => {
  it('keeps the schedules table from piling up versions however often it is written', async () => {
    const { app, scheduler } = await start();
    const { schedule } = await scheduler.add(daily());
    const store = new ScheduleStore(app.memory.db.schedules);
    for (let i = 0; i < 12; i++) await store.update(schedule.id, () => ({ consecutiveFailures: i }));
    expect((await app.memory.db.schedules.listVersions()).length).toBeGreaterThan(12);
    // Versions older than an hour are dropped: run the job as if two hours had passed.
    const later = new Maintenance(app.memory.db, silentLogger(), DEFAULT_MAINTENANCE, () => Date.now() + 7_200_000);
    await later.compactSmallTables();
    expect((await app.memory.db.schedules.listVersions()).length).toBeLessThanOrEqual(2);
    expect(await scheduler.get(schedule.id)).toMatchObject({ consecutiveFailures: 11, goal: schedule.goal });
  });
});
