/**
 * The journal's entries as stored (JSON text), checked with zod on the way back: a row that does
 * not parse is never replayed half-typed (src/agent/journal.ts). Each schema is held to the
 * agent's own type, so a change there that this misses does not compile.
 */
import { z } from 'zod';
import type { JournalEntry } from '../agent/journal.js';

const text = z.string();
const usage = z.object({ promptTokens: z.number().nonnegative(), completionTokens: z.number().nonnegative() });
const toolCall = z.object({ id: text, name: text, arguments: text });

const response = z.object({
  content: text.nullable(),
  reasoning: text.nullable(),
  toolCalls: z.array(toolCall),
  usage,
  usageEstimated: z.boolean(),
  finishReason: text,
  model: text,
});

const outcome = z.object({
  ok: z.boolean(),
  content: text,
  truncated: z.boolean(),
  durationMs: z.number(),
  error: z.object({ kind: z.enum(['unknown_tool', 'invalid_arguments', 'tool_error', 'aborted', 'denied', 'interrupted']), message: text }).optional(),
});

const outgoingFile = z.object({ name: text, path: text, bytes: z.number().int().nonnegative() });

const placedFile = z.object({
  name: text,
  kind: z.enum(['text', 'document', 'image']),
  bytes: z.number().int().nonnegative(),
  textName: text.nullable(),
  preview: text.nullable(),
  image: z.union([z.object({ seen: z.literal(true) }), z.object({ seen: z.literal(false), why: text }), z.null()]),
});

const memoryContext = z.object({
  prompt: text.nullable(),
  workingBlocks: z.number().int().nonnegative(),
  memories: z.number().int().nonnegative(),
  lessons: z.number().int().nonnegative(),
  fromOthers: z.number().int().nonnegative(),
});

const elapsedMs = z.number().nonnegative();

export const JournalEntrySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('memory'), elapsedMs, context: memoryContext.nullable() }),
  z.object({ kind: z.literal('files'), elapsedMs, placed: z.array(placedFile), images: z.array(z.object({ name: text, mimeType: text })) }),
  z.object({ kind: z.literal('model'), elapsedMs, response }),
  z.object({ kind: z.literal('tool_started'), elapsedMs, callId: text, tool: text }),
  z.object({ kind: z.literal('tool'), elapsedMs, callId: text, outcome, attached: z.array(outgoingFile) }),
  z.object({
    kind: z.literal('approval'),
    elapsedMs,
    callId: text,
    decision: z.object({ outcome: z.enum(['approved', 'denied', 'timed_out', 'unavailable']), by: text.nullable() }),
  }),
]) satisfies z.ZodType<JournalEntry>;
