/**
 * Times named in a question ("in May 2023", "on 8 May 2023", "2023-05-08", "last week",
 * "yesterday") as a window of created_at values. Relative times count back from `now`; a month or
 * day with no year is left alone (which year is ambiguous), as is anything not understood.
 */
export interface TimeWindow {
  /** Epoch ms, inclusive. */
  since: number;
  /** Epoch ms, exclusive. */
  until: number;
}

const DAY_MS = 86_400_000;
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const MONTH = `(${MONTHS.join('|')}|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\\.?`;
const monthIndex = (name: string): number => MONTHS.findIndex((m) => m.startsWith(name.toLowerCase().slice(0, 3)));

const ISO_DAY = /\b(\d{4})-(\d{2})-(\d{2})\b/;
const DAY_MONTH_YEAR = new RegExp(`\\b(\\d{1,2})(?:st|nd|rd|th)?\\s+(?:of\\s+)?${MONTH},?\\s+(\\d{4})\\b`, 'i');
const MONTH_DAY_YEAR = new RegExp(`\\b${MONTH}\\s+(\\d{1,2})(?:st|nd|rd|th)?,?\\s+(\\d{4})\\b`, 'i');
const MONTH_YEAR = new RegExp(`\\b${MONTH},?\\s+(\\d{4})\\b`, 'i');
const YEAR = /\b(?:in|during|of)\s+((?:19|20)\d{2})\b/i;
const AGO = /\b(\d{1,3}|a|one|two|three|four|five|six)\s+(day|week|month|year)s?\s+ago\b/i;
const WORD_NUMBERS: Record<string, number> = { a: 1, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6 };
const UNIT_DAYS: Record<string, number> = { day: 1, week: 7, month: 30, year: 365 };

const day = (y: number, m: number, d: number): TimeWindow => {
  const since = Date.UTC(y, m, d);
  return { since, until: since + DAY_MS };
};

/** The first time expression found in the text, as a window; undefined when there is none. */
export function timeWindowOf(text: string, now: number): TimeWindow | undefined {
  let m = ISO_DAY.exec(text);
  if (m) return day(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  m = DAY_MONTH_YEAR.exec(text);
  if (m) return day(Number(m[3]), monthIndex(m[2] ?? ''), Number(m[1]));
  m = MONTH_DAY_YEAR.exec(text);
  if (m) return day(Number(m[3]), monthIndex(m[1] ?? ''), Number(m[2]));
  m = MONTH_YEAR.exec(text);
  if (m) {
    const year = Number(m[2]);
    const month = monthIndex(m[1] ?? '');
    return { since: Date.UTC(year, month, 1), until: Date.UTC(year, month + 1, 1) };
  }
  m = YEAR.exec(text);
  if (m) return { since: Date.UTC(Number(m[1]), 0, 1), until: Date.UTC(Number(m[1]) + 1, 0, 1) };
  return relativeWindow(text.toLowerCase(), now);
}

function relativeWindow(text: string, now: number): TimeWindow | undefined {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  if (/\btoday\b/.test(text)) return { since: today, until: today + DAY_MS };
  if (/\byesterday\b/.test(text)) return { since: today - DAY_MS, until: today };
  if (/\b(?:this|past)\s+week\b/.test(text)) return { since: today - 7 * DAY_MS, until: today + DAY_MS };
  if (/\blast\s+week\b/.test(text)) return { since: today - 14 * DAY_MS, until: today };
  if (/\b(?:this|past)\s+month\b/.test(text)) return { since: today - 31 * DAY_MS, until: today + DAY_MS };
  if (/\blast\s+month\b/.test(text)) return { since: today - 62 * DAY_MS, until: today };
  const ago = AGO.exec(text);
  if (ago) {
    const count = WORD_NUMBERS[ago[1] ?? ''] ?? Number(ago[1]);
    const days = count * (UNIT_DAYS[ago[2] ?? ''] ?? 1);
    // "3 weeks ago" is loose: a window of half the span either side.
    const centre = today - days * DAY_MS;
    const slack = Math.max(1, Math.round(days / 2)) * DAY_MS;
    return { since: centre - slack, until: centre + slack + DAY_MS };
  }
  return undefined;
}
