/**
 * A bounded parser for the cron syntax node-cron accepts. Every number is checked against its
 * field before anything is expanded (and never parsed beyond two significant digits), lists are
 * capped, and a range is at most one field wide, so no input makes this parser, or node-cron
 * after it, loop over a huge range. The syntax is node-cron's documented one: five or six fields
 * (seconds first), `*`, `n`, `a-b` (an inverted range wraps around, as node-cron does), steps on
 * `*` and on ranges, lists, month and weekday names, 7 = Sunday, `?` for a whole day field, the
 * @nicknames, and the Quartz-style `L`, `L-n`, `nW`, `LW` (day of month), `nL` and `n#k` (day of
 * week). `a/s` is accepted too and written `a-<last>/s`, the form node-cron understands.
 */

/** Days of the month: `numbers` has bit d-1 for day d. */
export interface DayOfMonth {
  numbers: number;
  /** `L` */
  last: boolean;
  /** `L-n` */
  lastMinus: number[];
  /** `nW`: the weekday nearest day n. */
  nearest: number[];
  /** `LW` */
  lastNearest: boolean;
}

/** Days of the week: `numbers` has bit w for weekday w (0 = Sunday). */
export interface DayOfWeek {
  numbers: number;
  /** `w#n`: the n-th such weekday of the month. */
  nth: { weekday: number; nth: number }[];
  /** `wL`: the last such weekday of the month. */
  last: number[];
}

export interface CronFields {
  /** Sorted, distinct. */
  seconds: number[];
  minutes: number[];
  hours: number[];
  dayOfMonth: DayOfMonth;
  /** Bit m for month m (1–12). */
  months: number;
  dayOfWeek: DayOfWeek;
}

export type ParsedCron = { ok: true; text: string; fields: CronFields } | { ok: false; problems: string[] };

/** Far more than any sensible expression (a full 60-item list is 170 characters). */
export const MAX_EXPRESSION_CHARS = 1_000;
/** Items in one field's comma list: as many as the largest field has values. */
export const MAX_LIST_ITEMS = 60;

const NICKNAMES: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTH_NAMES = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const WEEKDAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  /** Where `*` ends and an inverted range wraps: node-cron's bounds (day of week 0–6, though 7 is allowed). */
  last: number;
  /** Full names; the first three letters work too. Index 0 is value `min`. */
  names?: readonly string[];
  hint: string;
}

const SPECS: readonly FieldSpec[] = [
  { name: 'second', min: 0, max: 59, last: 59, hint: '0–59' },
  { name: 'minute', min: 0, max: 59, last: 59, hint: '0–59' },
  { name: 'hour', min: 0, max: 23, last: 23, hint: '0–23' },
  { name: 'day-of-month', min: 1, max: 31, last: 31, hint: '1–31, L, L-n, nW or LW' },
  { name: 'month', min: 1, max: 12, last: 12, names: MONTH_NAMES, hint: '1–12 or jan–dec' },
  { name: 'day-of-week', min: 0, max: 7, last: 6, names: WEEKDAY_NAMES, hint: '0–7 or sun–sat, w#n, wL' },
];

/** A problem with one field, said without the field's name. */
class FieldProblem extends Error {}

/** Bad text is echoed, but never at length. */
const shown = (text: string) => (text.length > 20 ? `${text.slice(0, 20)}…` : text);

/** A number or name within the field; digits past two significant ones are out of range unread. */
function value(text: string, spec: FieldSpec): number {
  if (/^\d+$/.test(text)) {
    const digits = text.replace(/^0+(?=\d)/, '');
    const n = digits.length > 2 ? Number.POSITIVE_INFINITY : Number(digits);
    if (n < spec.min || n > spec.max) throw new FieldProblem(`${shown(text)} is out of range (${spec.min}–${spec.max})`);
    return n;
  }
  const lower = text.toLowerCase();
  const index = spec.names?.findIndex((full) => full === lower || full.slice(0, 3) === lower) ?? -1;
  if (index < 0) throw new FieldProblem(`${shown(text)} is not a valid value (${spec.hint})`);
  return spec.min + index;
}

function step(text: string, spec: FieldSpec): number {
  const span = spec.max - spec.min + 1;
  if (!/^\d+$/.test(text)) throw new FieldProblem(`step ${shown(text)} is not a number`);
  const digits = text.replace(/^0+(?=\d)/, '');
  const n = digits.length > 2 ? Number.POSITIVE_INFINITY : Number(digits);
  if (n < 1 || n > span) throw new FieldProblem(`step ${shown(text)} is out of range (1–${span})`);
  return n;
}

/** Marks a-b/s as node-cron expands it: an inverted range wraps around the field. At most 60 marks. */
function markRange(marks: boolean[], a: number, b: number, s: number, spec: FieldSpec): void {
  if (a <= b) {
    for (let i = a; i <= b; i += s) marks[i] = true;
    return;
  }
  const size = spec.last - spec.min + 1;
  const span = (((b - a) % size) + size) % size;
  for (let offset = 0; offset <= span; offset += s) marks[a + offset > spec.last ? a + offset - size : a + offset] = true;
}

const WEEKDAY_DIGIT_OR_NAME = /^([0-7]|[a-z]{3,9})$/i;

/** The day-of-month forms beyond plain values; true when the item was one of them. */
function dayOfMonthSpecial(item: string, day: DayOfMonth): boolean {
  let m: RegExpExecArray | null;
  if (/^l$/i.test(item)) day.last = true;
  else if (/^lw$/i.test(item)) day.lastNearest = true;
  else if ((m = /^l-(\d{1,2})$/i.exec(item)) !== null) {
    const n = Number(m[1]);
    if (n < 1 || n > 30) throw new FieldProblem(`${item} is out of range (L-1 to L-30)`);
    day.lastMinus.push(n);
  } else if ((m = /^(\d{1,2})w$/i.exec(item)) !== null) {
    const n = Number(m[1]);
    if (n < 1 || n > 31) throw new FieldProblem(`${item} is out of range (1W to 31W)`);
    day.nearest.push(n);
  } else return false;
  return true;
}

/** The day-of-week forms beyond plain values (`5L`, `fri#2`); true when the item was one of them. */
function dayOfWeekSpecial(item: string, week: DayOfWeek, spec: FieldSpec): boolean {
  let m: RegExpExecArray | null;
  if ((m = /^(\w+)l$/i.exec(item)) !== null && WEEKDAY_DIGIT_OR_NAME.test(m[1] ?? '')) {
    week.last.push(value(m[1] ?? '', spec) % 7);
    return true;
  }
  if ((m = /^(\w+)#(\d+)$/.exec(item)) !== null) {
    if (!WEEKDAY_DIGIT_OR_NAME.test(m[1] ?? '')) throw new FieldProblem(`${shown(item)} is not a valid value (${spec.hint})`);
    const weekday = value(m[1] ?? '', spec) % 7;
    if (!/^[1-5]$/.test(m[2] ?? '')) throw new FieldProblem(`${shown(item)} is out of range (#1 to #5)`);
    week.nth.push({ weekday, nth: Number(m[2]) });
    return true;
  }
  return false;
}

/** One field's values (marks by value) and its text as node-cron will be given it. */
function parseField(text: string, spec: FieldSpec, special?: (item: string) => boolean): { marks: boolean[]; text: string } {
  const marks = new Array<boolean>(spec.max + 1).fill(false);
  if (text === '?' && (spec.name === 'day-of-month' || spec.name === 'day-of-week')) {
    markRange(marks, spec.min, spec.last, 1, spec);
    return { marks, text };
  }
  const items = text.split(',');
  if (items.length > MAX_LIST_ITEMS) throw new FieldProblem(`${items.length} list items; at most ${MAX_LIST_ITEMS} are allowed`);
  const written: string[] = [];
  for (const item of items) {
    let m: RegExpExecArray | null;
    written.push(item);
    if (item === '') throw new FieldProblem(`${shown(text)} has an empty list item`);
    if (special?.(item) === true) continue;
    if ((m = /^\*(?:\/(\w+))?$/.exec(item)) !== null) markRange(marks, spec.min, spec.last, m[1] === undefined ? 1 : step(m[1], spec), spec);
    else if ((m = /^(\w+)-(\w+)(?:\/(\w+))?$/.exec(item)) !== null) {
      markRange(marks, value(m[1] ?? '', spec), value(m[2] ?? '', spec), m[3] === undefined ? 1 : step(m[3], spec), spec);
    } else if ((m = /^(\w+)\/(\w+)$/.exec(item)) !== null) {
      // node-cron has no "a/s": it is "a, then every s-th value to the end of the field".
      const start = value(m[1] ?? '', spec);
      const end = Math.max(start, spec.last);
      markRange(marks, start, end, step(m[2] ?? '', spec), spec);
      written[written.length - 1] = `${m[1] ?? ''}-${end}/${m[2] ?? ''}`;
    } else if (/^\w+$/.test(item)) marks[value(item, spec)] = true;
    else throw new FieldProblem(`${shown(item)} is not a valid value (${spec.hint})`);
  }
  return { marks, text: written.join(',') };
}

const valuesOf = (marks: boolean[]) => marks.flatMap((on, i) => (on ? [i] : []));
const bitsOf = (marks: boolean[]) => marks.reduce((bits, on, i) => (on ? bits | (1 << i) : bits), 0);

/** Parses and checks an expression; the work is bounded by MAX_EXPRESSION_CHARS whatever it says. */
export function parseCron(expression: string): ParsedCron {
  const trimmed = expression.trim();
  if (trimmed.length > MAX_EXPRESSION_CHARS) return { ok: false, problems: [`it is ${trimmed.length} characters long; at most ${MAX_EXPRESSION_CHARS} are allowed`] };
  const text = trimmed === '' ? '' : trimmed.split(/\s+/).join(' ');
  const nickname = NICKNAMES[text.toLowerCase()];
  const raw = (nickname ?? text).split(' ').filter((f) => f !== '');
  if (raw.length !== 5 && raw.length !== 6) return { ok: false, problems: [`expected 5 or 6 fields but got ${raw.length}`] };
  const given = raw.length === 6 ? raw : ['0', ...raw];
  const dayOfMonth: DayOfMonth = { numbers: 0, last: false, lastMinus: [], nearest: [], lastNearest: false };
  const dayOfWeek: DayOfWeek = { numbers: 0, nth: [], last: [] };
  const problems: string[] = [];
  const parsed = SPECS.map((spec, i) => {
    const special =
      spec.name === 'day-of-month' ? (item: string) => dayOfMonthSpecial(item, dayOfMonth) : spec.name === 'day-of-week' ? (item: string) => dayOfWeekSpecial(item, dayOfWeek, spec) : undefined;
    try {
      return parseField(given[i] ?? '', spec, special);
    } catch (error) {
      if (!(error instanceof FieldProblem)) throw error;
      problems.push(`${spec.name}: ${error.message}`);
      return { marks: [], text: '' };
    }
  });
  if (problems.length > 0) return { ok: false, problems };
  const marks = (i: number) => parsed[i]?.marks ?? [];
  const weekdays = marks(5);
  if (weekdays[7] === true) weekdays[0] = true;
  dayOfMonth.numbers = bitsOf(marks(3).slice(1));
  dayOfWeek.numbers = bitsOf(weekdays.slice(0, 7));
  const fields: CronFields = { seconds: valuesOf(marks(0)), minutes: valuesOf(marks(1)), hours: valuesOf(marks(2)), dayOfMonth, months: bitsOf(marks(4)), dayOfWeek };
  const written = parsed.map((p) => p.text);
  // Five fields stay five: the seconds "0" was ours.
  const out = nickname !== undefined ? text.toLowerCase() : (raw.length === 5 ? written.slice(1) : written).join(' ');
  return { ok: true, text: out, fields };
}
