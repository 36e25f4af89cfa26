/**
 * Builds bench/datasets/assistant-chats.longmemeval.json, a hand-written held-out memory benchmark,
 * from the persona modules beside this file. Every question gets its own copy of its persona's
 * haystack (same sessions, ids, dates and order for all of a persona's questions, so converters can
 * group them); the copies differ only in `has_answer`, which marks that question's evidence turns.
 *
 *   node --import tsx bench/datasets/build-assistant-chats.ts          write the file
 *   node --import tsx bench/datasets/build-assistant-chats.ts --check  fail if the file is stale
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dani } from './assistant-chats-dani.js';
import { marcus } from './assistant-chats-marcus.js';
import { priya } from './assistant-chats-priya.js';
import {
  longMemEvalQuestionSchema,
  type EvidenceSpec,
  type LongMemEvalQuestion,
  type PersonaSpec,
  type QuestionType,
} from './assistant-chats-schema.js';

const OUTPUT = fileURLToPath(new URL('./assistant-chats.longmemeval.json', import.meta.url));
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const SINGLE_SESSION_TYPES: readonly QuestionType[] = [
  'single-session-user',
  'single-session-assistant',
  'single-session-preference',
];

/** "2023-09-03 21:14" → "2023/09/03 (Sun) 21:14"; the weekday comes from the calendar. */
export function toLongMemEvalDate(local: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})$/.exec(local);
  if (!match) throw new Error(`bad date "${local}": want "YYYY-MM-DD HH:MM"`);
  const [, year, month, day, hour, minute] = match.map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) throw new Error(`no such day: "${local}"`);
  const weekday = WEEKDAYS[date.getUTCDay()] ?? '';
  return `${local.slice(0, 10).replaceAll('-', '/')} (${weekday}) ${local.slice(11)}`;
}

/** Finds the one turn of the named session that contains the quote; throws on none or several. */
function resolveEvidence(persona: PersonaSpec, evidence: EvidenceSpec): { session: number; turn: number } {
  const session = persona.sessions.findIndex((s) => s.id === evidence.session);
  const turns = persona.sessions[session]?.turns;
  if (!turns) throw new Error(`${persona.key}: evidence names unknown session "${evidence.session}"`);
  const hits = turns.flatMap((text, index) => (text.includes(evidence.quote) ? [index] : []));
  if (hits.length !== 1) {
    throw new Error(`${evidence.session}: quote "${evidence.quote}" is in ${hits.length} turns, want exactly 1`);
  }
  return { session, turn: hits[0] ?? 0 };
}

function checkSessions(persona: PersonaSpec): void {
  const ids = new Set<string>();
  let previous = '';
  for (const session of persona.sessions) {
    if (ids.has(session.id)) throw new Error(`duplicate session id ${session.id}`);
    ids.add(session.id);
    toLongMemEvalDate(session.date);
    if (session.date <= previous) throw new Error(`${session.id}: sessions must be in date order`);
    previous = session.date;
    const count = session.turns.length;
    if (count < 8 || count > 20 || count % 2 !== 0) {
      throw new Error(`${session.id}: ${count} turns; want 8–20 user/assistant pairs`);
    }
  }
  if (persona.questionDate <= previous) throw new Error(`${persona.key}: questions must be asked after the last session`);
}

function buildQuestions(persona: PersonaSpec): LongMemEvalQuestion[] {
  checkSessions(persona);
  const haystackIds = persona.sessions.map((s) => s.id);
  const haystackDates = persona.sessions.map((s) => toLongMemEvalDate(s.date));
  return persona.questions.map((spec, index) => {
    const id = `${persona.key}_q${String(index + 1).padStart(2, '0')}${spec.abstention ? '_abs' : ''}`;
    const evidence = spec.evidence.map((e) => resolveEvidence(persona, e));
    const evidenceSessions = [...new Set(evidence.map((e) => e.session))].sort((a, b) => a - b);
    if (evidence.length === 0) throw new Error(`${id}: no evidence`);
    if (!spec.abstention && SINGLE_SESSION_TYPES.includes(spec.type) && evidenceSessions.length !== 1) {
      throw new Error(`${id}: a ${spec.type} question needs evidence in exactly one session`);
    }
    if (!spec.abstention && spec.type === 'multi-session' && evidenceSessions.length < 2) {
      throw new Error(`${id}: a multi-session question needs evidence in two or more sessions`);
    }
    const marked = new Set(evidence.map((e) => `${e.session}:${e.turn}`));
    return {
      question_id: id,
      question_type: spec.type,
      question: spec.question,
      answer: spec.answer,
      question_date: toLongMemEvalDate(persona.questionDate),
      haystack_session_ids: haystackIds,
      haystack_dates: haystackDates,
      haystack_sessions: persona.sessions.map((session, s) =>
        session.turns.map((content, t) => ({
          role: t % 2 === 0 ? ('user' as const) : ('assistant' as const),
          content,
          ...(marked.has(`${s}:${t}`) ? { has_answer: true as const } : {}),
        })),
      ),
      answer_session_ids: evidenceSessions.map((s) => haystackIds[s] ?? ''),
    };
  });
}

/** Re-reads the built questions as a consumer would and checks the invariants the README promises. */
export function validateOutput(questions: unknown): LongMemEvalQuestion[] {
  const parsed = longMemEvalQuestionSchema.array().parse(questions);
  const ids = new Set<string>();
  const haystacks = new Map<string, string>();
  for (const q of parsed) {
    if (ids.has(q.question_id)) throw new Error(`duplicate question id ${q.question_id}`);
    ids.add(q.question_id);
    const sessions = q.haystack_sessions.length;
    if (q.haystack_session_ids.length !== sessions || q.haystack_dates.length !== sessions) {
      throw new Error(`${q.question_id}: haystack ids, dates and sessions differ in length`);
    }
    for (const date of [...q.haystack_dates, q.question_date]) {
      // Re-derive the weekday from the calendar: "(Sat)" must be right, not just well-formed.
      if (toLongMemEvalDate(`${date.slice(0, 10).replaceAll('/', '-')} ${date.slice(-5)}`) !== date) {
        throw new Error(`${q.question_id}: wrong weekday in "${date}"`);
      }
    }
    if (q.question_date <= (q.haystack_dates.at(-1) ?? '')) throw new Error(`${q.question_id}: asked before the last session`);
    const withAnswer = q.haystack_sessions.flatMap((turns, s) => (turns.some((t) => t.has_answer) ? [q.haystack_session_ids[s]] : []));
    if (JSON.stringify(withAnswer) !== JSON.stringify(q.answer_session_ids)) {
      throw new Error(`${q.question_id}: has_answer turns are not exactly in answer_session_ids`);
    }
    // Questions sharing session ids must share the haystack itself, apart from has_answer.
    const key = q.haystack_session_ids.join(',');
    const bare = JSON.stringify([q.haystack_dates, q.haystack_sessions.map((turns) => turns.map((t) => [t.role, t.content]))]);
    const seen = haystacks.get(key);
    if (seen !== undefined && seen !== bare) throw new Error(`${q.question_id}: haystack differs from its persona's`);
    haystacks.set(key, bare);
  }
  return parsed;
}

function summarise(questions: LongMemEvalQuestion[]): Record<string, number> {
  const counts: Record<string, number> = { total: questions.length };
  for (const q of questions) {
    const key = q.question_id.endsWith('_abs') ? 'abstention' : q.question_type;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

async function main(): Promise<void> {
  const questions = validateOutput([priya, dani, marcus].flatMap(buildQuestions));
  // One question per line: smaller than pretty-printed JSON and still diffable.
  const text = `[\n${questions.map((q) => JSON.stringify(q)).join(',\n')}\n]\n`;
  if (process.argv.includes('--check')) {
    const onDisk = await readFile(OUTPUT, 'utf8').catch(() => '');
    if (onDisk !== text) throw new Error(`${OUTPUT} is stale: run the builder without --check`);
  } else {
    await writeFile(OUTPUT, text);
  }
  console.log(JSON.stringify(summarise(questions)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
