/** A schedule's reports are its conversation: the next run is told the last few, in order. */
import { describe, expect, it } from 'vitest';
import { scheduleConversationId } from '../../src/conversations/keys.js';
import type { NewSchedule } from '../../src/scheduler/scheduler.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { CHANNEL, useScheduler } from '../scheduler/helpers.js';

const openai = useFakeOpenAi();
const start = useScheduler(openai);

const hourly: NewSchedule = { cron: '0 * * * *', timeZone: 'UTC', goal: 'Report the queue length', mode: 'react', notify: 'always', ...CHANNEL };

describe('a schedule’s conversation', () => {
  it('gives each run the last five reports, oldest first, the latest as its previous report', async () => {
    const { scheduler } = await start();
    const { schedule } = await scheduler.add(hourly);
    const systemOf = (n: number) => JSON.stringify(openai.chatRequests()[n]?.messages[0] ?? '');
    for (let i = 1; i <= 7; i++) {
      openai.script({ kind: 'text', content: `Queue length report ${i}: ${i * 10} jobs.` });
      const outcome = await scheduler.fire(schedule.id, 'manual');
      if (!outcome.started) throw new Error(outcome.why);
      await outcome.done;
    }
    expect(systemOf(0)).toContain('There is no earlier report.');
    expect(systemOf(1)).toContain('Your previous report, from');
    expect(systemOf(1)).not.toContain('Your earlier reports');
    // The seventh run: reports 2–6 (five kept), in order, the sixth as the previous report.
    // The briefing only (recalled memory may quote the reports too).
    const seventh = systemOf(6).slice(systemOf(6).indexOf('This is a scheduled run'));
    expect(seventh).not.toContain('report 1:');
    const order = [2, 3, 4, 5, 6].map((i) => seventh.indexOf(`Queue length report ${i}:`));
    expect(order.every((at) => at > 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(seventh).toMatch(/Your earlier reports, oldest first:[\s\S]*Your previous report, from [^\n]*, said:\\n<<<\\nQueue length report 6: 60 jobs\.\\n>>>/);
  });

  it('is deleted with the schedule; another schedule’s reports stay', async () => {
    const { app, scheduler } = await start();
    const removed = (await scheduler.add(hourly)).schedule;
    const kept = (await scheduler.add({ ...hourly, goal: 'Report the error rate' })).schedule;
    for (const [schedule, text] of [[removed, 'Queue length: 10 jobs.'], [kept, 'Error rate: 0.1%.']] as const) {
      openai.script({ kind: 'text', content: text });
      const outcome = await scheduler.fire(schedule.id, 'manual');
      if (!outcome.started) throw new Error(outcome.why);
      await outcome.done;
    }
    const conversation = (id: string) => app.conversations.store.get(scheduleConversationId(id));
    expect((await app.conversations.store.turns(scheduleConversationId(removed.id))).map((t) => t.text)).toEqual(['Queue length: 10 jobs.']);

    expect(await scheduler.remove(removed.id)).toBe(true);
    expect(await conversation(removed.id)).toBeUndefined();
    expect(await app.conversations.store.turns(scheduleConversationId(removed.id))).toEqual([]);
    expect((await app.conversations.store.turns(scheduleConversationId(kept.id))).map((t) => t.text)).toEqual(['Error rate: 0.1%.']);
    // Removing it again finds nothing and touches nothing.
    expect(await scheduler.remove(removed.id)).toBe(false);
    expect((await conversation(kept.id))?.turns).toBe(1);
  });
});
