import cron from 'node-cron';
import { dayStats, nextFirings, shortestGapS } from './cron-calendar.js';
import { parseCron, type CronFields } from './cron-fields.js';

/** Bad schedule input (cron expression, time zone, interval): the message says what to fix. */
export class ScheduleInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleInputError';
  }
}

const HINT = 'Use five fields (minute hour day-of-month month day-of-week, e.g. "0 9 * * 1-5" for 09:00 on weekdays) or six with seconds first.';

/** The IANA time zone in its canonical spelling, or a ScheduleInputError. */
export function checkTimeZone(timeZone: string): string {
  const name = timeZone.trim();
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    throw new ScheduleInputError(`"${name}" is not an IANA time zone. Use a name like Europe/Oslo, America/New_York or UTC.`);
  }
}

/** The expression as shown in messages: whitespace normalised, never at length. */
function shown(expression: string): string {
  const start = expression.trim().slice(0, 81);
  const text = start.split(/\s+/).join(' ');
  return start.length > 80 ? `${text.slice(0, 80)}…` : text;
}

interface Inspected {
  text: string;
  fields: CronFields;
  minDayGap: number;
}

/**
 * Parses and checks an expression with bounded work (see cron-fields.ts) before node-cron sees
 * it, and refuses one no date ever matches (node-cron would search a century for its next run).
 */
function inspect(expression: string): Inspected {
  const parsed = parseCron(expression);
  if (!parsed.ok) throw new ScheduleInputError(`"${shown(expression)}" is not a valid cron expression (${parsed.problems.join('; ')}). ${HINT}`);
  const days = dayStats(parsed.fields);
  if (!days.fires) {
    throw new ScheduleInputError(`"${parsed.text}" never runs: no date matches its day-of-month, month and day-of-week together (all three must match, e.g. "0 0 30 2 *" asks for February 30).`);
  }
  // Cheap now that every range is at most a field wide; node-cron runs it, so it has the last word.
  const verdict = cron.validateDetailed(parsed.text);
  if (!verdict.valid) throw new ScheduleInputError(`"${parsed.text}" is not a valid cron expression (${verdict.errors.map((e) => e.message).join('; ')}). ${HINT}`);
  return { text: parsed.text, fields: parsed.fields, minDayGap: days.minDayGap };
}

/** The expression with its whitespace normalised, or a ScheduleInputError naming the bad field, value and range. */
export function checkCron(expression: string): string {
  return inspect(expression).text;
}

/** The next `count` times the expression fires in the time zone, after `from`; bounded work (see cron-calendar.ts). */
export function nextRuns(expression: string, timeZone: string, count: number, from: Date = new Date()): Date[] {
  const parsed = parseCron(expression);
  if (!parsed.ok) throw new ScheduleInputError(`"${shown(expression)}" is not a valid cron expression (${parsed.problems.join('; ')}).`);
  return nextFirings(parsed.fields, checkTimeZone(timeZone), count, from.getTime());
}

function refuseNoRuns(text: string, zone: string): never {
  throw new ScheduleInputError(`"${text}" never runs in ${zone}: each time it names falls in a daylight-saving gap there.`);
}

/**
 * For a schedule accepted before (loaded from the database, resumed): the expression as node-cron
 * should be given it, or a ScheduleInputError if it fails today's checks. The interval is not
 * judged again, as the minimum may have changed since.
 */
export function checkStoredSchedule(expression: string, timeZone: string): string {
  const { text, fields } = inspect(expression);
  const zone = checkTimeZone(timeZone);
  if (nextFirings(fields, zone, 1, Date.now()).length === 0) refuseNoRuns(text, zone);
  return text;
}

/** Why a stored schedule cannot be armed (checkStoredSchedule's refusal), or null when it can. */
export function storedScheduleProblem(expression: string, timeZone: string): string | null {
  try {
    checkStoredSchedule(expression, timeZone);
    return null;
  } catch (error) {
    if (error instanceof ScheduleInputError) return error.message;
    throw error;
  }
}

/** The next run's time in ms, or null when there is none or the stored expression fails today's checks. */
export function nextRunOf(expression: string, timeZone: string): number | null {
  try {
    return nextRuns(expression, timeZone, 1)[0]?.getTime() ?? null;
  } catch (error) {
    if (error instanceof ScheduleInputError) return null;
    throw error;
  }
}

export interface CheckedSchedule {
  cron: string;
  timeZone: string;
  /** The next three run times. */
  nextRuns: Date[];
}

/**
 * Validates a schedule's timing: the cron expression (node-cron syntax, five or six fields), the
 * time zone, and that it never fires more often than every `minIntervalS` seconds, judged on
 * wall-clock times in its zone (daylight-saving shifts aside).
 */
export function checkSchedule(expression: string, timeZone: string, minIntervalS: number): CheckedSchedule {
  const { text, fields, minDayGap } = inspect(expression);
  const zone = checkTimeZone(timeZone);
  const shortestS = shortestGapS(fields, minDayGap);
  if (shortestS < minIntervalS) {
    throw new ScheduleInputError(
      `"${text}" runs as often as every ${formatInterval(shortestS * 1000)}; the shortest interval allowed here is ${formatInterval(minIntervalS * 1000)} (CAIRN_MIN_SCHEDULE_INTERVAL_S).`,
    );
  }
  const upcoming = nextFirings(fields, zone, 3, Date.now());
  if (upcoming.length === 0) refuseNoRuns(text, zone);
  return { cron: text, timeZone: zone, nextRuns: upcoming };
}

function formatInterval(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7_200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3_600)} h`;
  return `${Math.round(s / 86_400)} days`;
}
