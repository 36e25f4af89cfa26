/**
 * LoCoMo (Maharana et al., ACL 2024) loading and retrieval scoring. Pure functions apart from
 * `loadLocomo`. The data file is CC BY-NC: it is read from a path the user gives, never copied.
 *
 * Beyond the paper's files the loader accepts two extensions, so that other datasets can be
 * written or converted into the same format (bench/datasets, bench/convert-longmemeval.ts):
 * - `conversation.speakers: string[]` lists every speaker of a group conversation (speaker_a and
 *   speaker_b are then its first two); each turn's speaker must be one of them.
 * - a question's `category` may be a name ("abstention", "knowledge-update") instead of 1–5.
 */
import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';

export const CATEGORY_NAMES = {
  1: 'multi-hop',
  2: 'temporal',
  3: 'open-domain',
  4: 'single-hop',
  5: 'adversarial',
} as const;
export type LocomoCategory = keyof typeof CATEGORY_NAMES;
export type LocomoCategoryName = (typeof CATEGORY_NAMES)[LocomoCategory];
/** LoCoMo's five names, or any other dataset's category name. */
export type CategoryName = LocomoCategoryName | (string & {});

/** Largest data file read (LoCoMo's is about 3 MB). */
export const MAX_LOCOMO_FILE_BYTES = 256 * 1024 * 1024;

export interface LocomoTurn {
  /** "D<session>:<turn>", as the evidence lists name it. */
  id: string;
  session: number;
  speaker: string;
  text: string;
  /** Caption of the photo shared with this turn, when there was one. */
  caption?: string;
  /** The session's date as written in the file ("1:56 pm on 8 May, 2023"). */
  sessionDate: string;
  /** The session's date parsed (UTC); undefined when the text does not parse. */
  createdAt: Date | undefined;
}

export interface LocomoQuestion {
  question: string;
  /** The file's category: LoCoMo's number, or a name for other datasets. */
  category: LocomoCategory | string;
  categoryName: CategoryName;
  /** The reference answer as text (LoCoMo's category 5 has `adversarial_answer` instead). */
  answer?: string;
  /** When the question is asked, from an optional `question_date` in the file's date format. */
  askedAt?: Date;
  /** Repaired evidence turn ids, each naming a turn of this conversation. May be empty. */
  evidence: string[];
}

export interface LocomoConversation {
  sampleId: string;
  /** speaker_a and speaker_b, or the file's `speakers` list for a group conversation. */
  speakers: string[];
  /** In session order, then turn order. */
  turns: LocomoTurn[];
  questions: LocomoQuestion[];
}

export interface EvidenceRepair {
  sampleId: string;
  raw: string;
  /** The ids the raw string became; empty when it was dropped. */
  ids: string[];
}

export interface LocomoData {
  conversations: LocomoConversation[];
  /** Malformed evidence strings fixed unambiguously (e.g. "D30:05" → "D30:5"). */
  repaired: EvidenceRepair[];
  /** Evidence strings naming no turn, removed. */
  dropped: EvidenceRepair[];
  /** Questions left with no evidence (scored 1, as the paper's scorer does). */
  noEvidence: number;
}

const TurnSchema = z.looseObject({
  speaker: z.string(),
  dia_id: z.string(),
  text: z.string(),
  blip_caption: z.string().optional(),
});

/** A category name other than a LoCoMo number: short, printable, no leading/trailing space. */
const CategoryNameSchema = z.string().regex(/^[\w][\w .:/-]{0,62}[\w]$|^[\w]$/, 'a category name of 1–64 letters, digits, spaces or -_.:/');

const QaSchema = z.looseObject({
  question: z.string(),
  answer: z.union([z.string(), z.number()]).optional(),
  adversarial_answer: z.union([z.string(), z.number()]).optional(),
  question_date: z.string().optional(),
  evidence: z.array(z.string()),
  category: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4), z.literal(5), CategoryNameSchema]),
});

const SampleSchema = z.looseObject({
  sample_id: z.string(),
  // Session keys are dynamic (session_N, session_N_date_time), so the conversation is checked per key below.
  conversation: z.looseObject({
    speaker_a: z.string(),
    speaker_b: z.string(),
    speakers: z.array(z.string().min(1)).min(2).optional(),
  }),
  qa: z.array(QaSchema),
});

const FileSchema = z.array(SampleSchema);

/** Reads and validates the file, keeps session dates, and repairs evidence ids. */
export async function loadLocomo(path: string): Promise<LocomoData> {
  const { size } = await stat(path);
  if (size > MAX_LOCOMO_FILE_BYTES) throw new Error(`${path}: ${size} bytes, more than the ${MAX_LOCOMO_FILE_BYTES} read`);
  const raw: unknown = JSON.parse(await readFile(path, 'utf8'));
  return parseLocomo(raw);
}

export function parseLocomo(raw: unknown): LocomoData {
  const parsed = FileSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`not a LoCoMo file: ${z.prettifyError(parsed.error)}`);
  const out: LocomoData = { conversations: [], repaired: [], dropped: [], noEvidence: 0 };
  for (const sample of parsed.data) {
    const speakers = speakersOf(sample.sample_id, sample.conversation);
    const turns = readTurns(sample.sample_id, sample.conversation);
    if (sample.conversation.speakers !== undefined) {
      const stranger = turns.find((t) => !speakers.includes(t.speaker));
      if (stranger) throw new Error(`${sample.sample_id} ${stranger.id}: speaker "${stranger.speaker}" is not in conversation.speakers`);
    }
    const known = new Set(turns.map((t) => t.id));
    const questions = sample.qa.map((qa): LocomoQuestion => {
      const evidence: string[] = [];
      for (const rawId of qa.evidence) {
        const { ids, changed } = repairEvidence(rawId, known);
        if (ids.length === 0) out.dropped.push({ sampleId: sample.sample_id, raw: rawId, ids });
        else if (changed) out.repaired.push({ sampleId: sample.sample_id, raw: rawId, ids });
        for (const id of ids) if (!evidence.includes(id)) evidence.push(id);
      }
      if (evidence.length === 0) out.noEvidence++;
      const answer = qa.answer ?? qa.adversarial_answer;
      const askedAt = qa.question_date === undefined ? undefined : parseLocomoDate(qa.question_date);
      return {
        question: qa.question,
        category: qa.category,
        categoryName: categoryNameOf(qa.category),
        ...(answer !== undefined ? { answer: String(answer) } : {}),
        ...(askedAt !== undefined ? { askedAt } : {}),
        evidence,
      };
    });
    out.conversations.push({ sampleId: sample.sample_id, speakers, turns, questions });
  }
  return out;
}

/** LoCoMo's numbers become the paper's names; other names are kept as written. */
export function categoryNameOf(category: LocomoCategory | string): CategoryName {
  return typeof category === 'number' ? CATEGORY_NAMES[category] : category;
}

function speakersOf(sampleId: string, conversation: { speaker_a: string; speaker_b: string; speakers?: string[] | undefined }): string[] {
  const { speaker_a: a, speaker_b: b, speakers } = conversation;
  if (speakers === undefined) return [a, b];
  if (speakers[0] !== a || speakers[1] !== b) {
    throw new Error(`${sampleId}: conversation.speakers must start with speaker_a and speaker_b ("${a}", "${b}")`);
  }
  if (new Set(speakers).size !== speakers.length) throw new Error(`${sampleId}: conversation.speakers names someone twice`);
  return speakers;
}

function readTurns(sampleId: string, conversation: Record<string, unknown>): LocomoTurn[] {
  // Some samples carry more session_N_date_time keys than sessions: the session lists lead.
  const sessions = Object.keys(conversation)
    .map((key) => /^session_(\d+)$/.exec(key))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const turns: LocomoTurn[] = [];
  for (const session of sessions) {
    const list = z.array(TurnSchema).safeParse(conversation[`session_${session}`]);
    if (!list.success) throw new Error(`${sampleId} session_${session}: ${z.prettifyError(list.error)}`);
    const dateValue = conversation[`session_${session}_date_time`];
    const sessionDate = typeof dateValue === 'string' ? dateValue : '';
    const createdAt = parseLocomoDate(sessionDate);
    for (const t of list.data) {
      turns.push({
        id: t.dia_id,
        session,
        speaker: t.speaker,
        text: t.text,
        ...(t.blip_caption !== undefined ? { caption: t.blip_caption } : {}),
        sessionDate,
        createdAt,
      });
    }
  }
  return turns;
}

/**
 * Splits a raw evidence string on separators and normalises each part to "D<s>:<t>" (dropping a
 * stray colon after D and leading zeros). Parts that then name no known turn are dropped.
 */
export function repairEvidence(raw: string, known: ReadonlySet<string>): { ids: string[]; changed: boolean } {
  if (known.has(raw)) return { ids: [raw], changed: false };
  const ids: string[] = [];
  for (const part of raw.split(/[\s;,]+/).filter((p) => p !== '')) {
    const m = /^D:?(\d+):(\d+)$/.exec(part);
    if (!m) continue;
    const id = `D${Number(m[1])}:${Number(m[2])}`;
    if (known.has(id) && !ids.includes(id)) ids.push(id);
  }
  return { ids, changed: true };
}

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/** "1:56 pm on 8 May, 2023" → a UTC Date; undefined for anything else. */
export function parseLocomoDate(text: string): Date | undefined {
  const m = /^(\d{1,2}):(\d{2})\s*(am|pm)\s+on\s+(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})$/i.exec(text.trim());
  if (!m) return undefined;
  const [, hh, mm, ampm, day, monthName, year] = m;
  const month = MONTHS.indexOf((monthName ?? '').toLowerCase());
  if (month < 0) return undefined;
  const hour = (Number(hh) % 12) + ((ampm ?? '').toLowerCase() === 'pm' ? 12 : 0);
  return new Date(Date.UTC(Number(year), month, Number(day), hour, Number(mm)));
}

/**
 * The paper's R@k for one question: evidence ids found among the first k retrieved ids, over
 * the number of evidence ids. A question with no evidence scores 1, as the paper's scorer does.
 */
export function recallAtK(retrievedIds: readonly string[], evidenceIds: readonly string[], k: number): number {
  if (evidenceIds.length === 0) return 1;
  const top = new Set(retrievedIds.slice(0, k));
  let found = 0;
  for (const id of evidenceIds) if (top.has(id)) found++;
  return found / evidenceIds.length;
}

export interface ScoredQuestion {
  categoryName: CategoryName;
  /** R@k per k, as fractions. */
  recall: Readonly<Record<number, number>>;
}

export interface RecallSummary {
  questions: number;
  /** Mean recall (%) per k over all questions. */
  overall: Record<number, number>;
  /** Keyed by category name; only categories with questions appear. */
  byCategory: Record<string, { questions: number; recall: Record<number, number> }>;
}

/**
 * Means (in %, one decimal) overall and per category; overall counts every question once.
 * Categories come in LoCoMo's order, then other names in the order first seen.
 */
export function summarise(scored: readonly ScoredQuestion[], ks: readonly number[]): RecallSummary {
  const mean = (items: readonly ScoredQuestion[]): Record<number, number> => {
    const out: Record<number, number> = {};
    for (const k of ks) {
      const sum = items.reduce((acc, q) => acc + (q.recall[k] ?? 0), 0);
      out[k] = items.length === 0 ? 0 : Math.round((1000 * sum) / items.length) / 10;
    }
    return out;
  };
  const byCategory: RecallSummary['byCategory'] = {};
  const names: CategoryName[] = [...Object.values(CATEGORY_NAMES)];
  for (const q of scored) if (!names.includes(q.categoryName)) names.push(q.categoryName);
  for (const name of names) {
    const items = scored.filter((q) => q.categoryName === name);
    if (items.length > 0) byCategory[name] = { questions: items.length, recall: mean(items) };
  }
  return { questions: scored.length, overall: mean(scored), byCategory };
}

/** Scores one question's ranking at every k. */
export function scoreQuestion(q: LocomoQuestion, retrievedIds: readonly string[], ks: readonly number[]): ScoredQuestion {
  const recall: Record<number, number> = {};
  for (const k of ks) recall[k] = recallAtK(retrievedIds, q.evidence, k);
  return { categoryName: q.categoryName, recall };
}
