/**
 * JSON replies validated by a zod schema. Models sometimes wrap JSON in a code fence or miss a
 * field; one corrective round trip that quotes the exact problem fixes most of those.
 */
import { z } from 'zod';
import { LlmError } from './errors.js';
import { splitReasoning } from './reasoning.js';
import type { ChatMessage, ChatModel, TokenUsage } from './types.js';
import { errorMessage } from '../text.js';

export interface StructuredArgs<T> {
  messages: ChatMessage[];
  schema: z.ZodType<T>;
  /** Names the format for the server (sanitised to its [A-Za-z0-9_-]{1,64} rule) and in errors. */
  name: string;
  signal?: AbortSignal;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; issue: string };

export async function chatStructured<T>(
  model: ChatModel,
  args: StructuredArgs<T>,
): Promise<{ value: T; usage: TokenUsage }> {
  const responseFormat = { name: formatName(args.name), schema: jsonSchemaFor(args.schema) };
  const usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
  let messages = args.messages;
  let issue = '';
  for (let attempt = 1; attempt <= 2; attempt++) {
    const reply = await model.chat({
      messages,
      responseFormat,
      ...(args.signal ? { signal: args.signal } : {}),
    });
    usage.promptTokens += reply.usage.promptTokens;
    usage.completionTokens += reply.usage.completionTokens;
    const parsed = parseStructured(reply.content, args.schema);
    if (parsed.ok) return { value: parsed.value, usage };
    // Thoughts but no JSON: a reasoning model that spent its output tokens thinking.
    issue = reply.content === null && reply.reasoning !== null ? 'the reply had only reasoning and no JSON' : parsed.issue;
    messages = [
      ...args.messages,
      { role: 'assistant', content: reply.content ?? '' },
      {
        role: 'user',
        content:
          `That reply does not match the required JSON format "${args.name}": ${issue}. ` +
          'Reply again with only the corrected JSON, no other text.',
      },
    ];
  }
  throw new LlmError(
    'malformed_output',
    `The model's reply for "${args.name}" was not valid even after a corrective retry: ${issue}.`,
    { attempts: 2 },
  );
}

/** The schema's JSON Schema for what the model must write (the input side of any transforms). */
export function jsonSchemaFor(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return rest;
}

function formatName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'response';
}

/**
 * Parses JSON content, tolerating a ```json fence, and validates it; `issue` says what is wrong.
 * Only the answer part is parsed: a reasoning model writes `<think>…</think>{json}` (the chat
 * client takes that out already; other ChatModels may not).
 */
export function parseStructured<T>(content: string | null, schema: z.ZodType<T>): Parsed<T> {
  const answer = content === null ? '' : splitReasoning(content).text;
  if (answer.trim() === '') return { ok: false, issue: 'the reply was empty' };
  const text = unfence(answer);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const reason = errorMessage(err);
    return { ok: false, issue: `it is not valid JSON (${reason})` };
  }
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  const problems = result.error.issues
    .slice(0, 5)
    .map((i) => (i.path.length > 0 ? `at "${i.path.join('.')}": ${i.message}` : i.message))
    .join('; ');
  return { ok: false, issue: problems };
}

const FENCE = /```(?:json|JSON)?[ \t]*\r?\n?([\s\S]*?)\r?\n?[ \t]*```/;

function unfence(content: string): string {
  const trimmed = content.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return trimmed;
  const match = FENCE.exec(trimmed);
  return match?.[1]?.trim() ?? trimmed;
}
