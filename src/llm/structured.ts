/**
 * JSON replies validated by a zod schema, on whatever server runs the model. The format is asked
 * for as strongly as the server allows (notes §4): `json_schema`, else `json_object` with the
 * schema in the instructions, else the instructions alone. What comes back is parsed leniently
 * (code fences, prose around the JSON, `<think>` blocks), validated, and corrected once: one round
 * trip that quotes the exact problem fixes most replies, including from servers that ignore the
 * schema without saying so.
 */
import { z } from 'zod';
import { LlmError } from './errors.js';
import { jsonCandidates } from './json-text.js';
import { splitReasoning } from './reasoning.js';
import type { ChatMessage, ChatModel, ChatRequest, ChatResponse, TokenUsage } from './types.js';
import { errorMessage } from '../text.js';

export interface StructuredArgs<T> {
  messages: ChatMessage[];
  schema: z.ZodType<T>;
  /** Names the format for the server (sanitised to its [A-Za-z0-9_-]{1,64} rule) and in errors. */
  name: string;
  signal?: AbortSignal;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; issue: string };

/** How the format is asked for, strongest first. */
export type StructuredLevel = 'json_schema' | 'json_object' | 'instructions';
const LEVELS: readonly StructuredLevel[] = ['json_schema', 'json_object', 'instructions'];

/**
 * The level each model was found to accept, kept for the rest of the process so a refused request
 * is made once. Keyed by the ChatModel (the app keeps one per configured model and server); a
 * model name alone could be served by two servers that differ.
 */
const learned = new WeakMap<ChatModel, StructuredLevel>();

/** The level the next structured call to this model starts at. */
export function structuredLevelOf(model: ChatModel): StructuredLevel {
  return learned.get(model) ?? 'json_schema';
}

export async function chatStructured<T>(
  model: ChatModel,
  args: StructuredArgs<T>,
): Promise<{ value: T; usage: TokenUsage }> {
  const format = { name: formatName(args.name), schema: jsonSchemaFor(args.schema) };
  const usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
  let messages = args.messages;
  let issue = '';
  for (let attempt = 1; attempt <= 2; attempt++) {
    const reply = await chatAtBestLevel(model, messages, format, args.signal);
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
          // The schema again: a server that ignored `json_schema` never showed it to the model.
          `Reply again with only the corrected JSON, no other text. The JSON Schema it must match: ${JSON.stringify(format.schema)}`,
      },
    ];
  }
  throw new LlmError(
    'malformed_output',
    `The model's reply for "${args.name}" was not valid even after a corrective retry: ${issue}.`,
    { attempts: 2, usage },
  );
}

/**
 * One call at the strongest level the model is known to accept, stepping down (and remembering)
 * when the server refuses the `response_format`. Other failures reach the caller as they are.
 */
async function chatAtBestLevel(
  model: ChatModel,
  messages: ChatMessage[],
  format: { name: string; schema: Record<string, unknown> },
  signal: AbortSignal | undefined,
): Promise<ChatResponse> {
  let level = structuredLevelOf(model);
  for (;;) {
    try {
      return await model.chat(requestAt(level, messages, format, signal));
    } catch (err) {
      const next = LEVELS[LEVELS.indexOf(level) + 1];
      if (next === undefined || !refusesFormat(err)) throw err;
      // Only ever down: a concurrent call may already have learned a weaker level.
      level = deeper(next, structuredLevelOf(model));
      learned.set(model, level);
    }
  }
}

function deeper(a: StructuredLevel, b: StructuredLevel): StructuredLevel {
  return LEVELS.indexOf(a) >= LEVELS.indexOf(b) ? a : b;
}

function requestAt(
  level: StructuredLevel,
  messages: ChatMessage[],
  format: { name: string; schema: Record<string, unknown> },
  signal: AbortSignal | undefined,
): ChatRequest {
  const base = { ...(signal ? { signal } : {}) };
  if (level === 'json_schema') return { ...base, messages, responseFormat: format };
  const told = withFormatInstructions(messages, format.name, format.schema);
  if (level === 'json_object') return { ...base, messages: told, responseFormat: { ...format, type: 'json_object' } };
  return { ...base, messages: told };
}

/**
 * The words servers use to refuse a `response_format` (notes §4), in `LlmError.detail`:
 * - llama.cpp: `response_format type must be one of "text" or "json_object", but got: json_schema`,
 *   sent as a 500 `server_error` (ik_llama.cpp#778), so it arrives after the client's retries;
 * - vLLM: `When response_format type is 'json_schema', the 'json_schema' field must be provided.`;
 * - LM Studio before 0.3.18: `'response_format.type' must be 'json_schema'`, refusing the weaker
 *   types (lmstudio-bug-tracker#307), so a `json_object` refusal steps on to instructions alone;
 * - FastAPI-style validation errors and proxies that name the field, and schema-compilation
 *   failures ("JSON schema …"), where a weaker level also helps.
 * OpenRouter answers what no provider supports with a 404 ("No endpoints found that support …",
 * notes §2 for tool_choice; for response_format unverified), so a 404 naming it counts too.
 */
const FORMAT_WORDS = /response_format|json_schema|json_object|json schema|structured output/i;

function refusesFormat(err: unknown): boolean {
  if (!(err instanceof LlmError)) return false;
  // No status: an error event inside a stream, which is about the generation, not the request.
  if (err.status === undefined) return false;
  if (err.kind !== 'bad_request' && err.kind !== 'server_error' && err.kind !== 'not_found') return false;
  return FORMAT_WORDS.test(err.detail ?? '');
}

/**
 * The messages with the format described in words, for servers that do not take the schema. Added
 * to the first system message rather than as another one: several chat templates (Gemma, Mistral)
 * refuse a system message anywhere but first. The word "JSON" is required by OpenAI's json_object.
 */
export function withFormatInstructions(messages: ChatMessage[], name: string, schema: Record<string, unknown>): ChatMessage[] {
  const words =
    `Reply with only a JSON value for "${name}" that matches this JSON Schema, with no other text ` +
    `and no code fences:\n${JSON.stringify(schema)}`;
  const first = messages[0];
  if (first?.role === 'system') return [{ role: 'system', content: `${first.content}\n\n${words}` }, ...messages.slice(1)];
  return [{ role: 'system', content: words }, ...messages];
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
 * Finds the JSON in the reply and validates it; `issue` says what is wrong. Tries the whole answer,
 * fenced blocks, then each `{…}`/`[…]` in the text (json-text.ts), and takes the first that
 * validates. Only the answer part is parsed: a reasoning model writes `<think>…</think>{json}` (the
 * chat client takes that out already; other ChatModels may not).
 */
export function parseStructured<T>(content: string | null, schema: z.ZodType<T>): Parsed<T> {
  const answer = content === null ? '' : splitReasoning(content).text;
  if (answer.trim() === '') return { ok: false, issue: 'the reply was empty' };
  let syntax: string | undefined;
  let invalid: string | undefined;
  for (const candidate of jsonCandidates(answer)) {
    let json: unknown;
    try {
      json = JSON.parse(candidate);
    } catch (err) {
      syntax ??= errorMessage(err);
      continue;
    }
    const result = schema.safeParse(json);
    if (result.success) return { ok: true, value: result.data };
    invalid ??= result.error.issues
      .slice(0, 5)
      .map((i) => (i.path.length > 0 ? `at "${i.path.join('.')}": ${i.message}` : i.message))
      .join('; ');
  }
  // JSON of the wrong shape says more than the syntax error of the prose around it.
  if (invalid !== undefined) return { ok: false, issue: invalid };
  return { ok: false, issue: `it is not valid JSON (${syntax ?? 'no JSON found'})` };
}
