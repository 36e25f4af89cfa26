import { describe, expect, it } from 'vitest';
import { createScheduler } from '../../src/app.js';
import type { RunRequest } from '../../src/agent/agent.js';
import { ScheduleRunSurface } from '../../src/scheduler/execute.js';
import { ScheduleStore } from '../../src/scheduler/store.js';
import type { NewSchedule } from '../../src/scheduler/scheduler.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { CHANNEL, useScheduler } from './helpers.js';

const openai = useFakeOpenAi();
const start = useScheduler(openai);

const daily: NewSchedule = { cron: '0 9 * * *', timeZone: 'UTC', goal: 'Report the status', mode: 'react', notify: 'always', ...CHANNEL };

/** A scheduler whose firings are queued (as with CAIRN_REDIS_URL): recorded as queued runs, their ids kept in `queued`. */
async function queueing(env: Record<string, string> = {}) {
  const harness = await start(env);
  const queued: { request: RunRequest & { runId: string }; surface: ScheduleRunSurface }[] = [];
  const scheduler = createScheduler(harness.app, harness.delivery, {
    enqueue: async (request, surface) => {
      await harness.app.durable.enqueue(request, surface);
      queued.push({ request, surface });
    },
  });
  return { ...harness, scheduler, queued };
}

/** What a worker does with a queued scheduled run: claim it, and go on with it through the scheduler. */
async function work(h: Awaited<ReturnType<typeof queueing>>, runId: string) {
  const claimed = await h.app.durable.claim(runId);
  if (claimed === undefined || !('resumable' in claimed)) throw new Error(`run ${runId} is not claimable`);
  return h.scheduler.continueRun(claimed.resumable, ScheduleRunSurface.parse(claimed.resumable.run.surface));
}

describe('firings with a queue', () => {
  it('queue the run for a worker, skip a firing while the last run is unfinished, and report once when a worker runs it', async () => {
    const h = await queueing();
    const { schedule } = await h.scheduler.add(daily);
    openai.script({ kind: 'text', content: 'All green.' });
    const fired = await h.scheduler.fire(schedule.id, 'cron');
    expect(fired.started && (await fired.done)).toBe(null);
    expect(h.queued).toHaveLength(1);
    expect(h.queued[0]?.surface).toEqual({ kind: 'schedule', scheduleId: schedule.id, reason: 'cron' });
    expect(h.queued[0]?.request.scope?.userId).toBe(`schedule-${schedule.id}`);
    // Queued, not run here: no model call yet.
    expect(openai.chatRequests()).toHaveLength(0);

    // The next firing finds the last run unfinished (queued): skipped, nothing more queued.
    const again = await h.scheduler.fire(schedule.id, 'cron');
    if (again.started) await again.done;
    expect(h.queued).toHaveLength(1);

    const result = await work(h, h.queued[0]?.request.runId ?? '');
    expect(result?.answer).toBe('All green.');
    expect(h.delivery.reports).toHaveLength(1);
    expect(h.delivery.reports[0]?.report).toMatchObject({ reason: 'cron', resumed: false });
    expect((await h.scheduler.get(schedule.id))?.lastRunId).toBe(result?.runId);
    // Ended: its record is gone, and the next firing is queued again.
    expect(await h.app.durable.find(result?.runId ?? '')).toBeUndefined();
    const third = await h.scheduler.fire(schedule.id, 'cron');
    if (third.started) await third.done;
    expect(h.queued).toHaveLength(2);
  });

  it('a firing delivered again after its worker died queues its run once: the run id is the firing\'s', async () => {
    const h = await queueing();
    const { schedule } = await h.scheduler.add(daily);
    const key = `repeat:${schedule.id}:1796288400000`;
    const fired = await h.scheduler.fire(schedule.id, 'cron', key);
    if (fired.started) await fired.done;
    const runId = h.queued[0]?.request.runId ?? '';
    expect(runId).toMatch(/^[0-9a-z]+-[0-9a-f]{6}$/);
    expect(runId.startsWith((1796288400000).toString(36))).toBe(true);
    openai.script({ kind: 'text', content: 'Once.' });
    expect((await work(h, runId))?.answer).toBe('Once.');
    // Delivered again (the worker died before marking it handled): its run has run; nothing is queued.
    const again = await h.scheduler.fire(schedule.id, 'cron', key);
    if (again.started) await again.done;
    expect(h.queued).toHaveLength(1);
    expect(h.delivery.reports).toHaveLength(1);
    // Another firing is another run.
    const next = await h.scheduler.fire(schedule.id, 'cron', `repeat:${schedule.id}:1796374800000`);
    if (next.started) await next.done;
    expect(h.queued.map((q) => q.request.runId)).toHaveLength(2);
    expect(h.queued[1]?.request.runId).not.toBe(runId);
  });

  it('a run whose schedule was removed before it could go on is dropped, unrun and unreported, and its record says why', async () => {
    const h = await queueing();
    const { schedule } = await h.scheduler.add(daily);
    const fired = await h.scheduler.fire(schedule.id, 'manual');
    if (fired.started) await fired.done;
    const runId = h.queued[0]?.request.runId ?? '';
    // As if it had started before the process running it died.
    await h.app.memory.episodes.begin({ id: runId, visibility: 'channel', goal: daily.goal, mode: 'react', trigger: 'schedule', scope: { userId: `schedule-${schedule.id}`, channelId: CHANNEL.channelId }, startedAt: Date.now() });
    await h.scheduler.remove(schedule.id);
    expect(await work(h, runId)).toBeUndefined();
    expect(openai.chatRequests()).toHaveLength(0);
    expect(h.delivery.reports).toHaveLength(0);
    expect(await h.app.durable.find(runId)).toBeUndefined();
    expect(await h.app.memory.episodes.get(runId)).toMatchObject({ status: 'interrupted', reason: 'its schedule was removed before it could go on' });
  });
});

describe('a scheduled run resumed after a restart', () => {
  it('stands for the firing it was: the catch-up pass at start does not run the schedule again, even once it has finished', async () => {
    const h = await start();
    const { schedule } = await h.scheduler.add(daily);
    // The run the crash cut off, as its record was left (queued here: nothing journaled yet).
    const runId = 'sched-run-1';
    await h.app.durable.enqueue({ goal: daily.goal, runId, trigger: 'schedule', scope: { userId: `schedule-${schedule.id}`, channelId: CHANNEL.channelId, guildId: CHANNEL.guildId }, visibility: 'channel', billedTo: CHANNEL.creatorId }, { kind: 'schedule', scheduleId: schedule.id, reason: 'cron' });
    openai.script({ kind: 'text', content: 'Resumed report.' }, { kind: 'text', content: 'A second report.' });
    const claimed = await h.app.durable.claim(runId);
    if (claimed === undefined || !('resumable' in claimed)) throw new Error('not claimable');
    expect((await h.scheduler.continueRun(claimed.resumable, { kind: 'schedule', scheduleId: schedule.id, reason: 'cron' }))?.answer).toBe('Resumed report.');
    // As the catch-up pass could have read it just before that run finished: due in the past.
    await new ScheduleStore(h.app.memory.db.schedules).update(schedule.id, () => ({ nextRunAt: Date.now() - 3_600_000 }));
    await h.scheduler.start();
    await h.scheduler.settled();
    expect(h.delivery.reports.map((r) => r.report.result.answer)).toEqual(['Resumed report.']);
    expect(openai.chatRequests()).toHaveLength(1);
  });
});
