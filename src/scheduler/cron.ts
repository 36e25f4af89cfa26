import cron from 'node-cron';

/** Bad schedule input (cron expression, time zone, interval): the message says what to fix. */
export class ScheduleInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleInputError';
  }
}

/**
 * How many upcoming runs are looked at to find the shortest interval of an expression: enough to
 * cover a whole hour of any minute-level list ("0,2,…,56,57 * * * *" has 30 runs an hour).
 */
const INTERVAL_SAMPLE = 400;

/** The IANA time zone in its canonical spelling, or a ScheduleInputError. */
export function checkTimeZone(timeZone: string): string {
  const name = timeZone.trim();
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    throw new ScheduleInputError(`"${name}" is not an IANA time zone. Use a name like Europe/Oslo, America/New_York or UTC.`);
  }
}

/** The expression with its whitespace normalised, or a ScheduleInputError naming the bad field. */
export function checkCron(expression: string): string {
  const normalised = expression.trim().split(/\s+/).join(' ');
  const { valid, errors } = cron.validateDetailed(normalised);
  if (valid) return normalised;
  // node-cron says "61 is a invalid expression for minute"; say it once and plainly.
  const problems = errors.map((e) => (e.field === 'expression' ? e.message : `${e.field}: ${e.message.replace(/ is a invalid expression for \w+$/, ' is not a valid value')}`)).join('; ');
  throw new ScheduleInputError(
    `"${normalised}" is not a valid cron expression (${problems}). Use five fields (minute hour day-of-month month day-of-week, e.g. "0 9 * * 1-5" for 09:00 on weekdays) or six with seconds first.`,
  );
}

/** The next `count` times the expression fires in the time zone, from now. */
export function nextRuns(expression: string, timeZone: string, count: number): Date[] {
  const task = cron.createTask(expression, () => undefined, { timezone: timeZone });
  try {
    return task.getNextRuns(count);
  } finally {
    void task.destroy();
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
 * time zone, and that it never fires more often than every `minIntervalS` seconds.
 */
export function checkSchedule(expression: string, timeZone: string, minIntervalS: number): CheckedSchedule {
  const expr = checkCron(expression);
  const zone = checkTimeZone(timeZone);
  const upcoming = nextRuns(expr, zone, INTERVAL_SAMPLE);
  let shortestMs = Number.POSITIVE_INFINITY;
  for (let i = 1; i < upcoming.length; i++) {
    shortestMs = Math.min(shortestMs, (upcoming[i]?.getTime() ?? 0) - (upcoming[i - 1]?.getTime() ?? 0));
  }
  if (shortestMs < minIntervalS * 1000) {
    throw new ScheduleInputError(
      `"${expr}" runs as often as every ${formatInterval(shortestMs)}; the shortest interval allowed here is ${formatInterval(minIntervalS * 1000)} (CAIRN_MIN_SCHEDULE_INTERVAL_S).`,
    );
  }
  return { cron: expr, timeZone: zone, nextRuns: upcoming.slice(0, 3) };
}

function formatInterval(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7_200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3_600)} h`;
}
