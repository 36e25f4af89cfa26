/**
 * LongMemEval → LoCoMo format, so that `bench:locomo` (and bench/locomo-data.ts) can score recall on it.
 *
 *   node --import tsx bench/convert-longmemeval.ts --in longmemeval_s_cleaned.json --out lme-s.locomo.json
 *
 * LongMemEval: Di Wu et al., "LongMemEval: Benchmarking Chat Assistants on Long-Term Interactive
 * Memory", ICLR 2025. Code https://github.com/xiaowu0162/LongMemEval (MIT licence, LICENSE
 * "Copyright (c) 2024 Di Wu"); data https://huggingface.co/datasets/xiaowu0162/longmemeval-cleaned
 * (dataset card: licence MIT). Users fetch the files themselves; nothing of it is copied here.
 *
 * The format, from the repository's README ("Dataset Format") and src/retrieval/run_retrieval.py:
 * a JSON list of questions, each `{question_id, question_type, question, answer, question_date,
 * haystack_session_ids, haystack_dates, haystack_sessions, answer_session_ids}`. question_type is
 * one of six; a question_id ending in `_abs` is an abstention question. Dates read
 * "2023/05/20 (Sat) 02:21". A session is a list of turns `{role: user|assistant, content}`; turns
 * holding evidence carry `has_answer: true` (run_retrieval.py also accepts `false`). Session ids are
 * in time order in the _s and _m files but not in the oracle file.
 *
 * Conversion:
 * - Questions whose haystacks are identical (same session ids, dates and turn texts, ignoring
 *   has_answer) become one conversation with several questions; any difference makes another.
 *   The conversation's sample_id is its first question's id.
 * - Sessions are ordered by date (stably) and numbered session_1…N; turns become "D<s>:<t>"; the
 *   speakers are "user" and "assistant". `session_N_longmemeval_id` keeps each session's id.
 * - Evidence is the turns marked has_answer in that question's own copy of the haystack. When none
 *   is marked, it is every turn of the question's answer sessions (LongMemEval's session-level
 *   evidence); when there are none either, it is empty (the loader counts those).
 * - category is the question_type, or "abstention" for `_abs` ids. The official retrieval
 *   evaluation skips abstention questions, as they name events that never happened: report them apart.
 * - Dates become LoCoMo's "2:21 am on 20 May, 2023" (wall-clock time, no zone, as in the source;
 *   the weekday in brackets is checked to be a weekday name but not recomputed).
 */
import { createHash } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const QUESTION_TYPES = [
  'single-session-user',
  'single-session-assistant',
  'single-session-preference',
  'temporal-reasoning',
  'knowledge-update',
  'multi-session',
] as const;

/** Bounds on what is read: the _s file is about 280 MB; the _m file (2.75 GB) cannot be read whole. */
export const LIMITS = {
  fileBytes: 500 * 1024 * 1024,
  questions: 10_000,
  sessionsPerQuestion: 2_000,
  turnsPerSession: 2_000,
  textChars: 200_000,
  idChars: 200,
} as const;

const DATE_PATTERN = /^(\d{4})\/(\d{2})\/(\d{2}) \((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\) (\d{2}):(\d{2})$/;
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** "2023/05/20 (Sat) 02:21" → "2:21 am on 20 May, 2023"; undefined when it is not a real date and time. */
export function toLocomoDate(text: string): string | undefined {
  const m = DATE_PATTERN.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute] = m.slice(1).map(Number) as [number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59) return undefined;
  const hour12 = hour % 12 === 0 ? 12 : hour % 12;
  return `${hour12}:${String(minute).padStart(2, '0')} ${hour < 12 ? 'am' : 'pm'} on ${day} ${MONTHS[month - 1] ?? ''}, ${year}`;
}

const Id = z.string().min(1).max(LIMITS.idChars);
const Text = z.string().max(LIMITS.textChars);
const LmeDate = z.string().refine((s) => toLocomoDate(s) !== undefined, 'expected a date like "2023/05/20 (Sat) 02:21"');

const TurnSchema = z.looseObject({
  role: z.enum(['user', 'assistant']),
  content: Text,
  has_answer: z.boolean().optional(),
});

const QuestionSchema = z
  .looseObject({
    question_id: Id,
    question_type: z.enum(QUESTION_TYPES),
    question: Text.min(1),
    answer: z.union([Text, z.number()]),
    question_date: LmeDate,
    haystack_session_ids: z.array(Id).max(LIMITS.sessionsPerQuestion),
    haystack_dates: z.array(LmeDate).max(LIMITS.sessionsPerQuestion),
    haystack_sessions: z.array(z.array(TurnSchema).max(LIMITS.turnsPerSession)).max(LIMITS.sessionsPerQuestion),
    answer_session_ids: z.array(Id).max(LIMITS.sessionsPerQuestion),
  })
  .refine(
    (q) => q.haystack_dates.length === q.haystack_session_ids.length && q.haystack_sessions.length === q.haystack_session_ids.length,
    { message: 'haystack_session_ids, haystack_dates and haystack_sessions must be the same length', path: ['haystack_sessions'] },
  );
type LmeQuestion = z.infer<typeof QuestionSchema>;

export interface LocomoTurnOut { speaker: 'user' | 'assistant'; dia_id: string; text: string }
export interface LocomoQaOut {
  question: string;
  answer: string;
  evidence: string[];
  category: string;
  question_id: string;
  question_date: string;
}
export interface LocomoSampleOut {
  sample_id: string;
  conversation: Record<string, unknown>;
  qa: LocomoQaOut[];
}
export interface ConversionReport {
  questions: number;
  conversations: number;
  sessions: number;
  turns: number;
  byCategory: Record<string, number>;
  /** How each question's evidence was found. */
  evidence: { markedTurns: number; answerSessions: number; none: number };
}

/** Validates one question, with errors naming its position, id and the bad field. */
function readQuestion(raw: unknown, index: number): LmeQuestion {
  const parsed = QuestionSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const id = typeof raw === 'object' && raw !== null && 'question_id' in raw ? ` (question_id ${JSON.stringify(raw.question_id)})` : '';
  const issues = parsed.error.issues.slice(0, 5).map((i) => `${pathText(i.path)}: ${i.message}`);
  throw new Error(`LongMemEval question ${index}${id}: ${issues.join('; ')}`);
}

function pathText(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('') || '(the question)';
}

/** Same session ids, dates and turns (roles and text; has_answer ignored) ⇒ same key. */
function haystackKey(q: LmeQuestion): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify([q.haystack_session_ids, q.haystack_dates]));
  for (const session of q.haystack_sessions) hash.update(JSON.stringify(session.map((t) => [t.role, t.content])));
  return hash.digest('hex');
}

/** Converts a parsed LongMemEval file; throws on anything outside the published format. */
export function convertLongMemEval(raw: unknown): { samples: LocomoSampleOut[]; report: ConversionReport } {
  if (!Array.isArray(raw)) throw new Error('not a LongMemEval file: expected a JSON list of questions');
  if (raw.length > LIMITS.questions) throw new Error(`LongMemEval file has ${raw.length} questions; at most ${LIMITS.questions} are read`);
  const questions = raw.map((q: unknown, i) => readQuestion(q, i));
  const seenIds = new Set<string>();
  for (const [i, q] of questions.entries()) {
    if (seenIds.has(q.question_id)) throw new Error(`LongMemEval question ${i}: question_id ${JSON.stringify(q.question_id)} appears twice`);
    seenIds.add(q.question_id);
  }

  const groups = new Map<string, LmeQuestion[]>();
  for (const q of questions) {
    const key = haystackKey(q);
    const group = groups.get(key);
    if (group) group.push(q);
    else groups.set(key, [q]);
  }

  const report: ConversionReport = { questions: 0, conversations: 0, sessions: 0, turns: 0, byCategory: {}, evidence: { markedTurns: 0, answerSessions: 0, none: 0 } };
  const samples = [...groups.values()].map((group) => toSample(group, report));
  return { samples, report };
}

function toSample(group: readonly LmeQuestion[], report: ConversionReport): LocomoSampleOut {
  const first = group[0];
  if (!first) throw new Error('empty question group');
  // Session order by date; index = position in the source haystack, shared by every question of the group.
  const order = first.haystack_dates
    .map((date, index) => ({ index, time: toSortable(date) }))
    .sort((a, b) => a.time.localeCompare(b.time) || a.index - b.index)
    .map((s) => s.index);
  const sessionNumber = new Map(order.map((index, n) => [index, n + 1]));
  const conversation: Record<string, unknown> = { speaker_a: 'user', speaker_b: 'assistant' };
  order.forEach((index, n) => {
    const turns: LocomoTurnOut[] = (first.haystack_sessions[index] ?? []).map((t, ti) => ({ speaker: t.role, dia_id: `D${n + 1}:${ti + 1}`, text: t.content }));
    conversation[`session_${n + 1}_date_time`] = toLocomoDate(first.haystack_dates[index] ?? '');
    conversation[`session_${n + 1}_longmemeval_id`] = first.haystack_session_ids[index];
    conversation[`session_${n + 1}`] = turns;
    report.turns += turns.length;
  });
  report.sessions += order.length;
  report.conversations++;

  const qa = group.map((q): LocomoQaOut => {
    const evidence = evidenceOf(q, sessionNumber, report);
    const category = q.question_id.endsWith('_abs') ? 'abstention' : q.question_type;
    report.byCategory[category] = (report.byCategory[category] ?? 0) + 1;
    report.questions++;
    return { question: q.question, answer: String(q.answer), evidence, category, question_id: q.question_id, question_date: toLocomoDate(q.question_date) ?? '' };
  });
  return { sample_id: first.question_id, conversation, qa };
}

/** "2023/05/20 (Sat) 02:21" → "2023/05/20 02:21", which sorts as text. */
function toSortable(date: string): string {
  return date.replace(/ \(\w+\)/, '');
}

function evidenceOf(q: LmeQuestion, sessionNumber: ReadonlyMap<number, number>, report: ConversionReport): string[] {
  const ids = (pick: (turn: { has_answer?: boolean | undefined }, sessionIndex: number) => boolean): string[] => {
    const found: { session: number; turn: number }[] = [];
    q.haystack_sessions.forEach((session, si) => {
      session.forEach((turn, ti) => {
        if (pick(turn, si)) found.push({ session: sessionNumber.get(si) ?? 0, turn: ti + 1 });
      });
    });
    return found.sort((a, b) => a.session - b.session || a.turn - b.turn).map((e) => `D${e.session}:${e.turn}`);
  };
  const marked = ids((turn) => turn.has_answer === true);
  if (marked.length > 0) {
    report.evidence.markedTurns++;
    return marked;
  }
  const answerSessions = new Set(q.answer_session_ids);
  const fromSessions = ids((_turn, si) => answerSessions.has(q.haystack_session_ids[si] ?? ''));
  if (fromSessions.length > 0) report.evidence.answerSessions++;
  else report.evidence.none++;
  return fromSessions;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { in: { type: 'string' }, out: { type: 'string' } } });
  if (values.in === undefined || values.out === undefined) {
    console.error('usage: npm run bench:convert:longmemeval -- --in <LongMemEval .json> --out <LoCoMo-format .json>');
    process.exit(2);
  }
  const { size } = await stat(values.in);
  if (size > LIMITS.fileBytes) {
    throw new Error(`${values.in} is ${size} bytes; at most ${LIMITS.fileBytes} are read (use longmemeval_s or longmemeval_oracle, not _m)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(values.in, 'utf8'));
  } catch (error) {
    throw new Error(`${values.in}: not JSON (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
  const { samples, report } = convertLongMemEval(raw);
  // One sample at a time: the whole output as one string could pass V8's string limit.
  const out = await open(values.out, 'w');
  try {
    await out.write('[\n');
    for (const [i, sample] of samples.entries()) await out.write(`${JSON.stringify(sample)}${i < samples.length - 1 ? ',' : ''}\n`);
    await out.write(']\n');
  } finally {
    await out.close();
  }
  console.log(JSON.stringify({ in: values.in, out: values.out, ...report }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
