import type { CronFields } from './cron-fields.js';

/**
 * When a parsed cron expression fires, with work bounded whatever it says: days are walked a
 * month at a time with bit masks over at most one 400-year Gregorian cycle (after which the
 * calendar, weekdays included, repeats), and times of day are handled arithmetically. Day matching
 * follows node-cron: day-of-month AND day-of-week (not cron's usual OR), L/W/# as node-cron reads them.
 */

/** Days in 400 Gregorian years, a whole number of weeks. */
export const CYCLE_DAYS = 146_097;
const DAY_S = 86_400;

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const daysInMonth = (y: number, m: number) => (m === 2 ? (isLeap(y) ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31);

/** node-cron's `nW`: the weekday nearest day `target`, staying in the month; 0 when there is no such day. */
function nearestWeekday(target: number, length: number, weekday: number): number {
  if (target > length) return 0;
  if (weekday === 6) return target === 1 ? 3 : target - 1;
  if (weekday === 0) return target === length ? target - 2 : target + 1;
  return target;
}

type DayMatcher = (year: number, month: number, firstWeekday: number) => number;

/**
 * The days (bit d-1 for day d) of a month the expression's day fields allow, the month field
 * aside, given the weekday of the month's 1st. Plain weekdays are masks worked out once.
 */
function dayMatcher(f: CronFields): DayMatcher {
  const { dayOfMonth: dom, dayOfWeek: dow } = f;
  const weekdayMasks = Array.from({ length: 7 }, (_, first) => {
    let mask = 0;
    for (let d = 1; d <= 31; d++) if ((dow.numbers >> ((first + d - 1) % 7)) & 1) mask |= 1 << (d - 1);
    return mask;
  });
  const plain = dom.lastMinus.length === 0 && dom.nearest.length === 0 && !dom.last && !dom.lastNearest && dow.nth.length === 0 && dow.last.length === 0;
  return (year, month, firstWeekday) => {
    const length = daysInMonth(year, month);
    const inMonth = length === 31 ? 0x7fffffff : (1 << length) - 1;
    const weekdays = weekdayMasks[firstWeekday] ?? 0;
    if (plain) return dom.numbers & weekdays & inMonth;
    const bit = (d: number) => (d >= 1 && d <= length ? 1 << (d - 1) : 0);
    const weekdayOf = (d: number) => (firstWeekday + d - 1) % 7;
    let days = dom.numbers;
    if (dom.last) days |= bit(length);
    for (const n of dom.lastMinus) days |= bit(length - n);
    for (const n of dom.nearest) days |= bit(nearestWeekday(n, length, weekdayOf(n)));
    if (dom.lastNearest) days |= bit(nearestWeekday(length, length, weekdayOf(length)));
    let week = weekdays;
    for (const { weekday, nth } of dow.nth) week |= bit(1 + ((weekday - firstWeekday + 7) % 7) + 7 * (nth - 1));
    for (const weekday of dow.last) {
      const first = 1 + ((weekday - firstWeekday + 7) % 7);
      week |= bit(first + 7 * Math.floor((length - first) / 7));
    }
    return days & week & inMonth;
  };
}

/**
 * Calls `visit(year, month, days, monthStart)` for each month from the given date on that has
 * firing days (`days`: bit d-1 for day d, none before the start date), in order, until it returns
 * false or `spanDays` days have passed. monthStart is the month's 1st counted in days from the start date.
 */
function eachFiringMonth(f: CronFields, from: { year: number; month: number; day: number }, spanDays: number, visit: (year: number, month: number, days: number, monthStart: number) => boolean): void {
  let { year, month } = from;
  let firstWeekday = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
  const matches = dayMatcher(f);
  let monthStart = 1 - from.day;
  // The first month counts from the start date; the last ends with the span.
  let skip = ~((1 << (from.day - 1)) - 1);
  while (monthStart < spanDays) {
    const length = daysInMonth(year, month);
    const beyond = spanDays - monthStart;
    const days = (f.months >> month) & 1 ? matches(year, month, firstWeekday) & skip & (beyond >= 31 ? 0x7fffffff : (1 << beyond) - 1) : 0;
    if (days !== 0 && !visit(year, month, days, monthStart)) return;
    skip = -1;
    monthStart += length;
    firstWeekday = (firstWeekday + length) % 7;
    month = month === 12 ? 1 : month + 1;
    if (month === 1) year += 1;
  }
}

const lowestDay = (days: number) => 32 - Math.clz32(days & -days);
const highestDay = (days: number) => 32 - Math.clz32(days);

export interface DayStats {
  fires: boolean;
  /** The fewest days between two firing days (the calendar's repetition included). */
  minDayGap: number;
}

/** Whether any date ever matches, and how close two matching dates come: one 400-year cycle decides both. */
export function dayStats(f: CronFields): DayStats {
  let first = -1;
  let last = -1;
  let minDayGap = Number.POSITIVE_INFINITY;
  eachFiringMonth(f, { year: 2000, month: 1, day: 1 }, CYCLE_DAYS, (_year, _month, days, monthStart) => {
    const low = lowestDay(days);
    const high = highestDay(days);
    if (last < 0) first = monthStart + low;
    else minDayGap = Math.min(minDayGap, monthStart + low - last);
    // Two firing days k apart within the month: the mask overlaps itself shifted by k.
    for (let k = 1; k < minDayGap && k <= high - low; k++) {
      if ((days & (days >>> k)) !== 0) minDayGap = k;
    }
    last = monthStart + high;
    return minDayGap > 1;
  });
  if (first < 0) return { fires: false, minDayGap };
  return { fires: true, minDayGap: Math.min(minDayGap, first + CYCLE_DAYS - last) };
}

const minStep = (sorted: readonly number[]) => sorted.reduce((min, v, i) => (i === 0 ? min : Math.min(min, v - (sorted[i - 1] ?? v))), Number.POSITIVE_INFINITY);
const firstOf = (v: readonly number[]) => v[0] ?? 0;
const lastOf = (v: readonly number[]) => v[v.length - 1] ?? 0;

/**
 * The shortest wall-clock gap in seconds between two firings: within a day (the times of day are
 * hours × minutes × seconds, so the closest pair is found from each set's closest neighbours) and
 * from the last time of one firing day to the first of the next. Daylight-saving shifts are not
 * considered: a gap across one can be shorter by the size of the shift.
 */
export function shortestGapS(f: CronFields, minDayGap: number): number {
  const { seconds: s, minutes: m, hours: h } = f;
  const secondsSpread = lastOf(s) - firstOf(s);
  const minutesSpread = lastOf(m) * 60 + lastOf(s) - (firstOf(m) * 60 + firstOf(s));
  const daySpread = lastOf(h) * 3_600 + lastOf(m) * 60 + lastOf(s) - (firstOf(h) * 3_600 + firstOf(m) * 60 + firstOf(s));
  return Math.min(minStep(s), minStep(m) * 60 - secondsSpread, minStep(h) * 3_600 - minutesSpread, minDayGap * DAY_S - daySpread);
}

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let found = formatters.get(zone);
  if (found === undefined) {
    // Bounded: zone spellings come from people.
    if (formatters.size > 200) formatters.clear();
    found = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(zone, found);
  }
  return found;
}

function wallAt(ms: number, zone: string): Wall {
  const wall: Wall = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const { type, value } of formatter(zone).formatToParts(new Date(ms))) {
    if (type === 'year' || type === 'month' || type === 'day' || type === 'minute' || type === 'second') wall[type] = Number(value);
    // Some engines write midnight as 24 even with h23.
    else if (type === 'hour') wall.hour = Number(value) % 24;
  }
  return wall;
}

const asUtc = (w: Wall) => Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
const sameWall = (a: Wall, b: Wall) => a.year === b.year && a.month === b.month && a.day === b.day && a.hour === b.hour && a.minute === b.minute && a.second === b.second;

/**
 * The instant of a wall time, worked out as node-cron does (so both pick the same one across a
 * daylight-saving change), or null when the zone skips that wall time.
 */
function instantOf(wall: Wall, zone: string): number | null {
  const guess = asUtc(wall);
  const first = guess - (asUtc(wallAt(guess, zone)) - guess);
  const firstWall = wallAt(first, zone);
  const second = guess - (asUtc(firstWall) - first);
  if (first === second) return sameWall(firstWall, wall) ? first : null;
  if (sameWall(firstWall, wall)) return first;
  return sameWall(wallAt(second, zone), wall) ? second : null;
}

/** Wall-time conversions one search may make (each two to three Intl calls); runs past it are not listed. */
const MAX_CONVERSIONS = 300;

/**
 * The next `count` firings strictly after `fromMs` in the zone, as node-cron finds them: a time
 * that does not exist (a daylight-saving gap) is skipped, the repeated hour of a fall-back runs
 * once. Bounded: one 400-year cycle of days, MAX_CONVERSIONS wall-time conversions; an expression
 * whose every time falls in a gap gets fewer runs (none) rather than a long search.
 */
export function nextFirings(f: CronFields, zone: string, count: number, fromMs: number): Date[] {
  const base = Math.floor(fromMs / 1_000) * 1_000;
  const start = wallAt(base, zone);
  const { seconds: s, minutes: m, hours: h } = f;
  const perDay = h.length * m.length * s.length;
  const secondOfDay = (i: number) => (h[Math.floor(i / (m.length * s.length))] ?? 0) * 3_600 + (m[Math.floor(i / s.length) % m.length] ?? 0) * 60 + (s[i % s.length] ?? 0);
  /** The first time index from `lo` for which `test` holds, `test` being false then true. */
  const search = (lo: number, test: (i: number) => boolean) => {
    let hi = perDay;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (test(mid)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const runs: Date[] = [];
  let budget = MAX_CONVERSIONS;
  const startOfDay = start.hour * 3_600 + start.minute * 60 + start.second;
  /** Adds the day's firings to `runs`; on the start day, only those after the start. */
  const fillDay = (year: number, month: number, day: number, startDay: boolean): void => {
    /** The instant of time i of this day, or null when the zone skips it (or the budget is spent). */
    const instant = (i: number): number | null => {
      budget -= 1;
      if (budget < 0) return null;
      const t = secondOfDay(i);
      return instantOf({ year, month, day, hour: Math.floor(t / 3_600), minute: Math.floor(t / 60) % 60, second: t % 60 }, zone);
    };
    let i = startDay ? search(0, (j) => secondOfDay(j) > startOfDay) : 0;
    while (i < perDay && runs.length < count && budget > 0) {
      const at = instant(i);
      if (at === null) {
        // In a daylight-saving gap (one a day at most, so past it every time exists): a day whose
        // last time is skipped too has nothing left; otherwise on to the first time after the gap.
        i = instant(perDay - 1) === null ? perDay : search(i + 1, (j) => instant(j) !== null);
        continue;
      }
      if (at <= base) {
        // The start day's repeated fall-back hour, read as its first pass: on to the first time
        // after the start (the times before it come in one run).
        i = search(i + 1, (j) => (instant(j) ?? Number.POSITIVE_INFINITY) > base);
        continue;
      }
      runs.push(new Date(at));
      i += 1;
    }
  };
  eachFiringMonth(f, start, CYCLE_DAYS + 1, (year, month, days, monthStart) => {
    for (let left = days; left !== 0 && runs.length < count && budget > 0; left &= left - 1) {
      const day = lowestDay(left);
      fillDay(year, month, day, monthStart + day - 1 === 0);
    }
    return runs.length < count && budget > 0;
  });
  return runs;
}
