import cron from 'node-cron';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkCron, checkSchedule, nextRuns, ScheduleInputError } from '../../src/scheduler/cron.js';
import type { NewSchedule } from '../../src/scheduler/scheduler.js';
import { ScheduleStore } from '../../src/scheduler/store.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { CHANNEL, useScheduler } from './helpers.js';

// Each refusal below can only come from the bounded pre-check: node-cron would first expand the
// range or walk a century of days (seconds to minutes, or out of heap), and says it differently.

/** The message checkCron throws, or the accepted expression. */
function verdict(expression: string): string {
  try {
    return checkCron(expression);
  } catch (error) {
    if (error instanceof ScheduleInputError) return error.message;
    throw error;
  }
}

const refusal = (expression: string, problem: string) =>
  `"${expression}" is not a valid cron expression (${problem}). Use five fields (minute hour day-of-month month day-of-week, e.g. "0 9 * * 1-5" for 09:00 on weekdays) or six with seconds first.`;

describe('checkCron: numbers are checked against their field before anything is expanded', () => {
  it.each([
    ['60 0 * * * *', 'second: 60 is out of range (0–59)'],
    ['61 * * * *', 'minute: 61 is out of range (0–59)'],
    ['0-3000000 * * * *', 'minute: 3000000 is out of range (0–59)'],
    ['0 24 * * *', 'hour: 24 is out of range (0–23)'],
    ['0 9-25 * * *', 'hour: 25 is out of range (0–23)'],
    ['0 0 0 * *', 'day-of-month: 0 is out of range (1–31)'],
    ['0 0 1-32 * *', 'day-of-month: 32 is out of range (1–31)'],
    ['0 0 * 13 *', 'month: 13 is out of range (1–12)'],
    ['0 0 * 0-3 *', 'month: 0 is out of range (1–12)'],
    ['0 0 * * 8', 'day-of-week: 8 is out of range (0–7)'],
    ['0 0 * * 1-9', 'day-of-week: 9 is out of range (0–7)'],
  ])('refuses %s naming the field, the value and the range', (expression, problem) => {
    expect(verdict(expression)).toBe(refusal(expression, problem));
  });

  it('refuses huge numbers without reading them (node-cron ran out of heap on the first)', () => {
    expect(verdict('0-99999999999 * * * *')).toBe(refusal('0-99999999999 * * * *', 'minute: 99999999999 is out of range (0–59)'));
    expect(verdict('0 0 1-999999999999999999999999999999 * *')).toBe(
      refusal('0 0 1-999999999999999999999999999999 * *', 'day-of-month: 99999999999999999999… is out of range (1–31)'),
    );
    expect(verdict(`0 0 * * ${'9'.repeat(900)}`)).toContain('(day-of-week: 99999999999999999999… is out of range (0–7))');
  });

  it('refuses steps below 1 or wider than the field', () => {
    expect(verdict('*/0 * * * *')).toBe(refusal('*/0 * * * *', 'minute: step 0 is out of range (1–60)'));
    expect(verdict('0-59/99999999999 * * * *')).toBe(refusal('0-59/99999999999 * * * *', 'minute: step 99999999999 is out of range (1–60)'));
    expect(verdict('0 */25 * * *')).toBe(refusal('0 */25 * * *', 'hour: step 25 is out of range (1–24)'));
    expect(verdict('0 0 1/x * *')).toBe(refusal('0 0 1/x * *', 'day-of-month: step x is not a number'));
  });

  it('caps comma lists and the length of the whole expression', () => {
    const sixty = Array.from({ length: 60 }, (_, i) => i).join(',');
    expect(verdict(`${sixty} * * * *`)).toBe(`${sixty} * * * *`);
    expect(verdict(`${sixty},0 * * * *`)).toContain('(minute: 61 list items; at most 60 are allowed)');
    expect(verdict(`${'1,'.repeat(50_000)}1 * * * *`)).toContain('is not a valid cron expression (it is 100009 characters long; at most 1000 are allowed)');
    expect(verdict('1,,2 * * * *')).toBe(refusal('1,,2 * * * *', 'minute: 1,,2 has an empty list item'));
  });

  it('names every bad field at once, and still says how many fields were expected', () => {
    expect(verdict('99 99 * * *')).toBe(refusal('99 99 * * *', 'minute: 99 is out of range (0–59); hour: 99 is out of range (0–23)'));
    expect(verdict('0 9 * *')).toBe(refusal('0 9 * *', 'expected 5 or 6 fields but got 4'));
    expect(verdict('1 2 3 4 5 6 7')).toBe(refusal('1 2 3 4 5 6 7', 'expected 5 or 6 fields but got 7'));
  });

  it('takes month and weekday names, refuses unknown ones with the allowed forms', () => {
    expect(verdict('0 9 * JAN-mar,dec MON-FRI')).toBe('0 9 * JAN-mar,dec MON-FRI');
    expect(verdict('0 9 * january sunday,saturday')).toBe('0 9 * january sunday,saturday');
    expect(verdict('0 9 * * tues')).toBe(refusal('0 9 * * tues', 'day-of-week: tues is not a valid value (0–7 or sun–sat, w#n, wL)'));
    expect(verdict('0 9 * foo *')).toBe(refusal('0 9 * foo *', 'month: foo is not a valid value (1–12 or jan–dec)'));
    expect(verdict('jan * * * *')).toBe(refusal('jan * * * *', 'minute: jan is not a valid value (0–59)'));
  });

  it('takes the six-field form with seconds first', () => {
    expect(verdict('  30   0 9 * * 1-5 ')).toBe('30 0 9 * * 1-5');
    expect(verdict('*/15 * * * * *')).toBe('*/15 * * * * *');
    expect(verdict('60 0 9 * * *')).toBe(refusal('60 0 9 * * *', 'second: 60 is out of range (0–59)'));
  });

  it("takes the rest of node-cron's syntax, which node-cron accepts as given", () => {
    const accepted = ['0 22-2 * * *', '0 0 * * sat-sun', '0 0 25-5/3 * *', '0 0 * * 0-7', '0 0 * * 7', '0 0 L * *', '0 0 L-3 * *', '0 0 15W,LW * *', '0 0 ? * 1', '0 0 1 * ?', '0 0 * * 5L,7L', '0 0 * * fri#2,7#1', '@daily', '@hourly', '0 */2 * * *', '5-55/10 * * * *', '00005 * * * *'];
    for (const expression of accepted) {
      expect(verdict(expression)).toBe(expression);
      expect(cron.validate(expression)).toBe(true);
    }
    // node-cron has no "a/s": it is written the way node-cron reads "from a, every s".
    expect(verdict('5/15 * * * *')).toBe('5-59/15 * * * *');
    expect(cron.validate('5-59/15 * * * *')).toBe(true);
  });

  it('refuses what is not cron syntax', () => {
    expect(verdict('0 0 * * L')).toBe(refusal('0 0 * * L', 'day-of-week: L is not a valid value (0–7 or sun–sat, w#n, wL)'));
    expect(verdict('0 0 L-31 * *')).toBe(refusal('0 0 L-31 * *', 'day-of-month: L-31 is out of range (L-1 to L-30)'));
    expect(verdict('0 0 32W * *')).toBe(refusal('0 0 32W * *', 'day-of-month: 32W is out of range (1W to 31W)'));
    expect(verdict('0 0 * * 1#6')).toBe(refusal('0 0 * * 1#6', 'day-of-week: 1#6 is out of range (#1 to #5)'));
    expect(verdict('0 9 * * 1-5;reboot')).toBe(refusal('0 9 * * 1-5;reboot', 'day-of-week: 1-5;reboot is not a valid value (0–7 or sun–sat, w#n, wL)'));
  });
});

describe('checkCron: an expression that never fires is refused, not searched for', () => {
  it.each(['0 0 30 2 *', '0 0 31 4 *', '0 0 31 2,4,6,9,11 *', '0 0 L-30 2 *', '0 0 30 2 1', '0 0 1-7 * 1#2'])('%s', (expression) => {
    expect(verdict(expression)).toBe(
      `"${expression}" never runs: no date matches its day-of-month, month and day-of-week together (all three must match, e.g. "0 0 30 2 *" asks for February 30).`,
    );
  });

  it('takes a rare one: February 29th that is a Monday (node-cron ANDs the day fields)', () => {
    expect(verdict('0 0 29 2 1')).toBe('0 0 29 2 1');
    expect(nextRuns('0 0 29 2 1', 'UTC', 3, new Date('2026-06-01T00:00:00Z')).map((d) => d.toISOString())).toEqual([
      '2044-02-29T00:00:00.000Z',
      '2072-02-29T00:00:00.000Z',
      // 2100 is no leap year.
      '2112-02-29T00:00:00.000Z',
    ]);
    const task = cron.createTask('0 0 29 2 1', () => undefined, { timezone: 'Europe/Oslo' });
    const theirs = task.getNextRuns(3);
    void task.destroy();
    const { nextRuns: upcoming } = checkSchedule('0 0 29 2 1', 'Europe/Oslo', 60);
    expect(upcoming).toEqual(theirs);
    expect(upcoming).toHaveLength(3);
    for (const run of upcoming) {
      expect(run.getTime()).toBeGreaterThan(Date.now());
      expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Oslo', weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }).format(run)).toBe('Mon 29 Feb, 00:00');
    }
  });
});

describe('checkSchedule: the shortest interval, worked out rather than sampled', () => {
  const interval = (expression: string, minIntervalS: number, zone = 'UTC') => {
    try {
      return checkSchedule(expression, zone, minIntervalS).cron;
    } catch (error) {
      if (error instanceof ScheduleInputError) return error.message;
      throw error;
    }
  };
  const tooOften = (expression: string, every: string, min: string) =>
    `"${expression}" runs as often as every ${every}; the shortest interval allowed here is ${min} (CAIRN_MIN_SCHEDULE_INTERVAL_S).`;

  it('refuses what fires too often, within a day or across midnight', () => {
    expect(interval('*/30 * * * * *', 60)).toBe(tooOften('*/30 * * * * *', '30 s', '60 s'));
    expect(interval('0,59 * * * * *', 60)).toBe(tooOften('0,59 * * * * *', '1 s', '60 s'));
    expect(interval('*/5 * * * *', 600)).toBe(tooOften('*/5 * * * *', '5 min', '10 min'));
    // 23:00, then 00:00 the next day.
    expect(interval('0 0,23 * * *', 7_200)).toBe(tooOften('0 0,23 * * *', '60 min', '2 h'));
    // February 28th, then March 1st, in common years.
    expect(interval('0 0 28,1 2,3 *', 172_800)).toBe(tooOften('0 0 28,1 2,3 *', '24 h', '2 days'));
    // Wednesday, then Friday.
    expect(interval('0 9 * * 1,3,5', 172_801)).toBe(tooOften('0 9 * * 1,3,5', '2 days', '2 days'));
  });

  it('takes what does not, up to once in four years', () => {
    expect(interval('* * * * *', 60)).toBe('* * * * *');
    expect(interval('0 */2 * * *', 7_200)).toBe('0 */2 * * *');
    expect(interval('0 9 * * 1,3,5', 172_800)).toBe('0 9 * * 1,3,5');
    expect(interval('0 0 1 1 *', 31_536_000)).toBe('0 0 1 1 *');
    expect(interval('0 0 29 2 *', 31_536_000)).toBe('0 0 29 2 *');
  });

  it('agrees with the gaps between the runs node-cron itself finds', () => {
    for (const expression of ['*/7 * * * *', '15,45 */5 * * *', '10-20/5 1,2 * * * *', '0 9,17 * * 1-5', '0 0 * * 1,3,5', '30 23 * * sat-sun', '0 12 L,1 * *']) {
      const task = cron.createTask(expression, () => undefined, { timezone: 'UTC' });
      const runs = task.getNextRuns(400).map((d) => d.getTime() / 1000);
      void task.destroy();
      const shortest = Math.min(...runs.slice(1).map((t, i) => t - (runs[i] ?? 0)));
      expect(interval(expression, shortest), expression).toBe(expression);
      expect(interval(expression, shortest + 1), expression).toMatch(/ runs as often as every /);
    }
  });

  it('refuses a schedule whose every time falls in a daylight-saving gap of its zone', () => {
    // 02:xx on the last Sunday of March: the hour Europe skips. node-cron searched 40 s for it.
    expect(interval('* * 2 * 3 0L', 1, 'Europe/Oslo')).toBe('"* * 2 * 3 0L" never runs in Europe/Oslo: each time it names falls in a daylight-saving gap there.');
    expect(interval('* * 2 * 3 0L', 1, 'America/New_York')).toBe('* * 2 * 3 0L');
  });
});

describe('nextRuns finds what node-cron finds', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const zones = ['UTC', 'Europe/Oslo', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata'];
  const expressions = ['0 9 * * 1-5', '*/15 * * * *', '30 2 * * *', '0 2,3 * * *', '45 1 * * *', '0 0 L * *', '0 12 15W * *', '0 8 * * fri#2', '0 0 * * 5L', '@weekly', '0 22-2 * * sat-sun', '20 */7 * * * *'];
  // Ordinary days, and the nights the clocks change (spring forward, fall back) in Europe, the US
  // and on Lord Howe Island (by half an hour).
  const moments = ['2026-06-10T10:20:30Z', '2027-03-28T00:10:00Z', '2027-10-31T00:10:00Z', '2027-10-31T01:10:00Z', '2027-03-14T06:10:00Z', '2027-11-07T05:10:00Z', '2027-11-07T06:10:00Z', '2027-10-02T15:10:00Z', '2027-04-03T14:10:00Z'];

  it.each(moments)('from %s', (moment) => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date(moment) });
    for (const zone of zones) {
      for (const expression of expressions) {
        const task = cron.createTask(expression, () => undefined, { timezone: zone });
        const theirs = task.getNextRuns(3).map((d) => d.toISOString());
        void task.destroy();
        expect(nextRuns(expression, zone, 3).map((d) => d.toISOString()), `${expression} in ${zone}`).toEqual(theirs);
      }
    }
  });

  it('steps over the repeated hour of a fall-back in a few conversions, every second though it fires', () => {
    // 01:30 the second time round in New York: node-cron runs next at 02:00, the hour's rest having run once.
    const from = new Date('2027-11-07T06:30:00Z');
    vi.useFakeTimers({ toFake: ['Date'], now: from });
    const task = cron.createTask('* * * * * *', () => undefined, { timezone: 'America/New_York' });
    const theirs = task.getNextRuns(2);
    void task.destroy();
    expect(theirs).toEqual([new Date('2027-11-07T07:00:00Z'), new Date('2027-11-07T07:00:01Z')]);
    expect(nextRuns('* * * * * *', 'America/New_York', 2)).toEqual(theirs);
  });
});

describe('schedules stored before these checks', () => {
  const openai = useFakeOpenAi();
  const start = useScheduler(openai);
  const daily: NewSchedule = { cron: '0 9 * * *', timeZone: 'UTC', goal: 'Report', mode: 'react', notify: 'always', ...CHANNEL };

  it('are paused with the reason when loaded, not handed to node-cron, and cannot be resumed', async () => {
    const { app, scheduler } = await start();
    const store = new ScheduleStore(app.memory.db.schedules);
    const huge = (await scheduler.add(daily)).schedule;
    const never = (await scheduler.add(daily)).schedule;
    const fine = (await scheduler.add(daily)).schedule;
    // As a database written by hand, or by an older Cairn, could hold them.
    await store.update(huge.id, () => ({ cron: '0-99999999999 * * * *' }));
    await store.update(never.id, () => ({ cron: '0 0 L-30 2 *' }));
    await scheduler.start();
    expect(await scheduler.get(huge.id)).toMatchObject({
      status: 'paused',
      nextRunAt: null,
      pausedReason: `its cron expression cannot be scheduled: ${refusal('0-99999999999 * * * *', 'minute: 99999999999 is out of range (0–59)')}`,
    });
    expect((await scheduler.get(never.id))?.pausedReason).toMatch(/^its cron expression cannot be scheduled: "0 0 L-30 2 \*" never runs: /);
    expect(await scheduler.get(fine.id)).toMatchObject({ status: 'active', pausedReason: null });
    await expect(scheduler.resume(huge.id)).rejects.toThrow(`Schedule ${huge.id} cannot be resumed: its cron expression cannot be scheduled: "0-99999999999 * * * *" is not a valid cron expression (minute: 99999999999 is out of range (0–59)).`);
    expect(await scheduler.get(huge.id)).toMatchObject({ status: 'paused' });
  });
});
