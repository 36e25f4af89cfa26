import { z } from 'zod';
import { defineTool } from '../define.js';

/** Intl is the authority on zone names: it throws RangeError for names it does not know. */
function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

function serverTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** The UTC offset of `timeZone` at `now`, as "+02:00" ("GMT" alone means zero). */
function utcOffset(now: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(now);
  const name = parts.find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  return name === 'GMT' ? '+00:00' : name.replace('GMT', '');
}

/** Wall-clock fields in `timeZone`, for an ISO 8601 timestamp with the zone's offset. */
function localIso(now: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(now);
  const field = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '00';
  return `${field('year')}-${field('month')}-${field('day')}T${field('hour')}:${field('minute')}:${field('second')}${utcOffset(now, timeZone)}`;
}

const input = z.strictObject({
  timezone: z
    .string()
    .refine(isTimeZone, {
      error: (issue) =>
        `unknown time zone ${JSON.stringify(issue.input)}; use an IANA name such as "Europe/Paris", "America/New_York", "Asia/Tokyo" or "UTC"`,
    })
    .optional()
    .describe('IANA time zone name, e.g. "Europe/Paris" or "America/New_York". Default: the server\'s time zone.'),
});

export const currentTimeTool = defineTool({
  name: 'current_time',
  description:
    'Get the current date and time: ISO 8601 timestamp with UTC offset, weekday and a readable local time, in a given IANA time zone or the server\'s zone.',
  input,
  risk: 'low',
  idempotent: true,
  run(args) {
    const now = new Date();
    const timeZone = args.timezone ?? serverTimeZone();
    return Promise.resolve({
      iso: localIso(now, timeZone),
      utc: now.toISOString(),
      timezone: timeZone,
      utcOffset: utcOffset(now, timeZone),
      weekday: new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'long' }).format(now),
      local: new Intl.DateTimeFormat('en-US', { timeZone, dateStyle: 'full', timeStyle: 'long' }).format(now),
    });
  },
});
