/**
 * Shapes for the hand-written "assistant chats" memory benchmark: the compact form the content
 * modules are written in, and the published LongMemEval form (Wu et al., ICLR 2025) it is built into.
 */
import { z } from 'zod';

export const QUESTION_TYPES = [
  'single-session-user',
  'single-session-assistant',
  'single-session-preference',
  'multi-session',
  'temporal-reasoning',
  'knowledge-update',
] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

/** One chat session as written: turns alternate user, assistant, user, … starting with the user. */
export interface SessionSpec {
  id: string;
  /** Local time the session started, "YYYY-MM-DD HH:MM"; the weekday is computed, not typed. */
  date: string;
  turns: string[];
}

/**
 * Evidence is named by session and a quote that must occur in exactly one turn of that session;
 * the builder resolves it to the turn index. A quote is checkable, an index typed by hand is not.
 */
export interface EvidenceSpec {
  session: string;
  quote: string;
}

export interface QuestionSpec {
  type: QuestionType;
  question: string;
  answer: string;
  evidence: EvidenceSpec[];
  /** Not answerable from the chats; the evidence names the nearest related turns. */
  abstention?: boolean;
}

export interface PersonaSpec {
  /** Prefix of every session and question id. */
  key: string;
  /** Local time the questions are asked, "YYYY-MM-DD HH:MM"; after the last session. */
  questionDate: string;
  sessions: SessionSpec[];
  questions: QuestionSpec[];
}

export const longMemEvalTurnSchema = z.strictObject({
  role: z.enum(['user', 'assistant']),
  content: z.string().min(1),
  has_answer: z.literal(true).optional(),
});

/** "2023/05/20 (Sat) 02:21", LongMemEval's date format. */
export const longMemEvalDateSchema = z
  .string()
  .regex(/^\d{4}\/\d{2}\/\d{2} \((Mon|Tue|Wed|Thu|Fri|Sat|Sun)\) \d{2}:\d{2}$/);

export const longMemEvalQuestionSchema = z.strictObject({
  question_id: z.string().min(1),
  question_type: z.enum(QUESTION_TYPES),
  question: z.string().min(1),
  answer: z.string().min(1),
  question_date: longMemEvalDateSchema,
  haystack_session_ids: z.array(z.string().min(1)).min(1),
  haystack_dates: z.array(longMemEvalDateSchema).min(1),
  haystack_sessions: z.array(z.array(longMemEvalTurnSchema).min(1)).min(1),
  answer_session_ids: z.array(z.string().min(1)).min(1),
});
export type LongMemEvalQuestion = z.infer<typeof longMemEvalQuestionSchema>;
export type LongMemEvalTurn = z.infer<typeof longMemEvalTurnSchema>;
