import { z } from 'zod';
import { defineTool } from '../define.js';

interface ZoneFormats {
  offset: Intl.DateTimeFormat;
  fields: Intl.DateTimeFormat;
  weekday: Intl.DateTimeFormat;
  local: Intl.DateTimeFormat;
}

/** Making a formatter costs far more than using one (ICU loads the zone), so they are kept per zone. */
const zoneFormats = new Map<string, ZoneFormats>();
/** Zone names are a closed set (IANA), but spellings are not: bounded all the same. */
const MAX_CACHED_ZONES = 1_000;

/** The zone's formatters; throws RangeError for a name Intl does not know. */
function formatsOf(timeZone: string): ZoneFormats {
  const cached = zoneFormats.get(timeZone);
  if (cached !== undefined) return cached;
  const formats: ZoneFormats = {
    offset: new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }),
    fields: new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }),
    weekday: new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'long' }),
    local: new Intl.DateTimeFormat('en-US', { timeZone, dateStyle: 'full', timeStyle: 'long' }),
  };
  if (zoneFormats.size >= MAX_CACHED_ZONES) zoneFormats.clear();
  zoneFormats.set(timeZone, formats);
  return formats;
}

/** Intl is the authority on zone names: it throws RangeError for names it does not know. */
function isTimeZone(name: string): boolean {
  try {
    formatsOf(name);
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
  const parts = formatsOf(timeZone).offset.formatToParts(now);
  const name = parts.find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  return name === 'GMT' ? '+00:00' : name.replace('GMT', '');
}

/** Wall-clock fields in `timeZone`, for an ISO 8601 timestamp with the zone's offset. */
function localIso(now: Date, timeZone: string): string {
  const parts = formatsOf(timeZone).fields.formatToParts(now);
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
      weekday: formatsOf(timeZone).weekday.format(now),
      local: formatsOf(timeZone).local.format(now),
    });
  },
});
