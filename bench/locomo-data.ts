/**
 * LoCoMo (Maharana et al., ACL 2024) loading and retrieval scoring. Pure functions apart from
 * `loadLocomo`. The data file is CC BY-NC: it is read from a path the user gives, never copied.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

export const CATEGORY_NAMES = {
  1: 'multi-hop',
  2: 'temporal',
  3: 'open-domain',
  4: 'single-hop',
  5: 'adversarial',
} as const;
export type LocomoCategory = keyof typeof CATEGORY_NAMES;
export type CategoryName = (typeof CATEGORY_NAMES)[LocomoCategory];

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
  category: LocomoCategory;
  categoryName: CategoryName;
  /** Repaired evidence turn ids, each naming a turn of this conversation. May be empty. */
  evidence: string[];
}

export interface LocomoConversation {
  sampleId: string;
  speakers: [string, string];
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

const QaSchema = z.looseObject({
  question: z.string(),
  evidence: z.array(z.string()),
  category: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4), z.literal(5)]),
});

const SampleSchema = z.looseObject({
  sample_id: z.string(),
  // Session keys are dynamic (session_N, session_N_date_time), so the conversation is checked per key below.
  conversation: z.looseObject({ speaker_a: z.string(), speaker_b: z.string() }),
  qa: z.array(QaSchema),
});

const FileSchema = z.array(SampleSchema);

/** Reads and validates the file, keeps session dates, and repairs evidence ids. */
export async function loadLocomo(path: string): Promise<LocomoData> {
  const raw: unknown = JSON.parse(await readFile(path, 'utf8'));
  return parseLocomo(raw);
}

export function parseLocomo(raw: unknown): LocomoData {
  const parsed = FileSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`not a LoCoMo file: ${z.prettifyError(parsed.error)}`);
  const out: LocomoData = { conversations: [], repaired: [], dropped: [], noEvidence: 0 };
  for (const sample of parsed.data) {
    const turns = readTurns(sample.sample_id, sample.conversation);
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
      return { question: qa.question, category: qa.category, categoryName: CATEGORY_NAMES[qa.category], evidence };
    });
    out.conversations.push({
      sampleId: sample.sample_id,
      speakers: [sample.conversation.speaker_a, sample.conversation.speaker_b],
      turns,
      questions,
    });
  }
  return out;
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
  byCategory: Partial<Record<CategoryName, { questions: number; recall: Record<number, number> }>>;
}

/** Means (in %, one decimal) overall and per category; overall counts every question once. */
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
  for (const name of Object.values(CATEGORY_NAMES)) {
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
