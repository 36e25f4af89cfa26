/**
 * Response bodies of the fake OpenAI server, shaped like the real API's: chat completions,
 * streamed chunks and embeddings. Kept apart from the HTTP plumbing in openai-server.ts.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

export interface ScriptedUsage {
  prompt: number;
  completion: number;
}

/**
 * How a scripted reply sends its `reasoning`: the ways real servers do it
 * (../shared/notes/model-servers.md §3 "Reasoning output"), in both the JSON and the SSE form.
 * - `reasoning_content` (the default): llama.cpp `--reasoning-format deepseek`, SGLang
 *   `--reasoning-parser`, LM Studio (opt-in since 0.3.9), vLLM before PR #27752.
 * - `reasoning`: vLLM since PR #27752 (`reasoning_content` gone since #33402), Ollama ≥0.12.4,
 *   OpenRouter, LM Studio's gpt-oss (0.3.23).
 * - `think_tags`: `<think>…</think>` at the start of `content`, as servers without a reasoning
 *   parser pass it on (vLLM without `--reasoning-parser`, Ollama without one, llama.cpp
 *   `--reasoning-format none`).
 * - `closing_tag`: the thoughts, then only `</think>`: templates that pre-fill `<think>\n`
 *   (DeepSeek-R1's updated one, Qwen3.5-style; llama.cpp#11861, vllm#13125).
 * - `unclosed_think`: `<think>` and thoughts never closed: a raw model out of output tokens.
 */
export type ReasoningWire = 'reasoning_content' | 'reasoning' | 'think_tags' | 'closing_tag' | 'unclosed_think';

/** A reply the fake will send, reduced to what both the JSON and the SSE forms need. */
export interface FakeCompletion {
  id: string;
  model: string;
  content: string | null;
  reasoning?: string;
  /** The field `reasoning` is sent in (default `reasoning_content`). */
  reasoningField?: 'reasoning' | 'reasoning_content';
  toolCalls: { id: string; name: string; arguments: string }[];
  finishReason: 'stop' | 'tool_calls' | 'length';
  usage?: ScriptedUsage;
  /** Streams only: every tool call whole in one delta, all at `index` 0 (Ollama, ollama#15457). */
  toolCallsAtIndexZero?: boolean;
}

export type ScriptedReply =
  | {
      kind: 'text';
      content: string;
      reasoning?: string;
      /** How `reasoning` is sent (default: the `reasoning_content` field). */
      reasoningAs?: ReasoningWire;
      /** `length`: the model ran out of output tokens (with reasoning and no answer, say). */
      finishReason?: 'length';
      usage?: ScriptedUsage;
      /** Wait this long before answering. */
      delayMs?: number;
      /** Streams only: pause between chunks. */
      chunkDelayMs?: number;
      /** Streams only: send this many chunks, then go silent without ending the response. */
      stallAfterChunks?: number;
    }
  | {
      kind: 'tool_calls';
      calls: { name: string; arguments: string | Record<string, unknown>; id?: string }[];
      content?: string;
      /** Reasoning on a tool-call turn, sent as `reasoningAs` says (default `reasoning_content`). */
      reasoning?: string;
      reasoningAs?: ReasoningWire;
      usage?: ScriptedUsage;
      delayMs?: number;
      chunkDelayMs?: number;
      /**
       * Streams only: send each call whole, with its id, in one delta and every one at `index` 0,
       * as Ollama does (notes §2: ollama#15457; #15497 still open).
       */
      atIndexZero?: boolean;
    }
  | {
      kind: 'error';
      status: number;
      message?: string;
      retryAfterMs?: number;
      /**
       * Sent verbatim instead of OpenAI's `{"error":{…}}`, to reproduce other servers' shapes
       * (ready-made ones with their sources: openai-error-bodies.ts). `message` is then unused.
       */
      body?: string;
      /** With `body`; default application/json. */
      contentType?: string;
      /** Extra response headers, e.g. `x-should-retry`. */
      headers?: Record<string, string>;
    }
  /**
   * Streams only: a 200 SSE stream that sends `content` (possibly none), then `data: <data>` as
   * is, then `[DONE]`, as vLLM and SGLang report a failure after the stream has started.
   */
  | { kind: 'stream_error'; content?: string; data: string }
  | { kind: 'hang' }
  /** 200 with a body that is not a completion; `body` overrides the default `{"oops":true}`. */
  | { kind: 'malformed'; body?: string }
  | { kind: 'no_usage'; content: string };

type Json = Record<string, unknown>;

/** The reply a script asks for, with ids filled in and usage defaulted from the request size. */
export function buildCompletion(
  model: string,
  messages: unknown[],
  reply: Extract<ScriptedReply, { kind: 'text' | 'tool_calls' | 'no_usage' }>,
  index: number,
): FakeCompletion {
  const toolCalls =
    reply.kind === 'tool_calls'
      ? reply.calls.map((call, i) => ({
          id: call.id ?? `call_fake_${index}_${i}`,
          name: call.name,
          arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
        }))
      : [];
  const wire = reply.kind === 'no_usage' ? undefined : withReasoning(reply.content ?? null, reply.reasoning, reply.reasoningAs);
  const content = wire?.content ?? reply.content ?? null;
  const reasoning = wire?.reasoning;
  const outputChars =
    (content?.length ?? 0) +
    (reasoning?.length ?? 0) +
    toolCalls.reduce((n, call) => n + call.name.length + call.arguments.length, 0);
  const usage =
    reply.kind === 'no_usage'
      ? undefined
      : (reply.usage ?? {
          prompt: Math.ceil(JSON.stringify(messages).length / 4),
          completion: Math.ceil(outputChars / 4),
        });
  return {
    id: `chatcmpl-fake-${index}`,
    model,
    content,
    ...(reasoning !== undefined ? { reasoning } : {}),
    ...(wire?.field === undefined ? {} : { reasoningField: wire.field }),
    toolCalls,
    finishReason: toolCalls.length > 0 ? 'tool_calls' : reply.kind === 'text' && reply.finishReason !== undefined ? reply.finishReason : 'stop',
    ...(usage ? { usage } : {}),
    ...(reply.kind === 'tool_calls' && reply.atIndexZero === true ? { toolCallsAtIndexZero: true } : {}),
  };
}

/** Puts scripted reasoning where `as` says: a field of its own, or tags in the content. */
function withReasoning(content: string | null, reasoning: string | undefined, as: ReasoningWire = 'reasoning_content'): { content: string | null; reasoning?: string; field?: 'reasoning' | 'reasoning_content' } {
  if (reasoning === undefined) return { content };
  switch (as) {
    case 'reasoning_content':
    case 'reasoning':
      return { content, reasoning, field: as };
    case 'think_tags':
      return { content: `<think>\n${reasoning}\n</think>\n\n${content ?? ''}` };
    case 'closing_tag':
      return { content: `${reasoning}\n</think>\n\n${content ?? ''}` };
    case 'unclosed_think':
      return { content: `<think>\n${reasoning}${content ?? ''}` };
  }
}

function usageJson(usage: ScriptedUsage): Json {
  return {
    prompt_tokens: usage.prompt,
    completion_tokens: usage.completion,
    total_tokens: usage.prompt + usage.completion,
  };
}

export function completionJson(c: FakeCompletion): Json {
  const message: Json = { role: 'assistant', content: c.content, refusal: null };
  if (c.reasoning !== undefined) message[c.reasoningField ?? 'reasoning_content'] = c.reasoning;
  if (c.toolCalls.length > 0) {
    message.tool_calls = c.toolCalls.map((t) => ({
      id: t.id,
      type: 'function',
      function: { name: t.name, arguments: t.arguments },
    }));
  }
  return {
    id: c.id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: c.model,
    choices: [{ index: 0, message, finish_reason: c.finishReason, logprobs: null }],
    ...(c.usage ? { usage: usageJson(c.usage) } : {}),
  };
}

/**
 * The chunk sequence OpenAI streams: a role delta, text in pieces, each tool call by index with
 * id and name first and its arguments in pieces, a finish chunk, then a usage-only chunk.
 */
export function streamChunks(c: FakeCompletion, includeUsage: boolean): Json[] {
  const deltas: Json[] = [{ role: 'assistant', content: '' }];
  for (const piece of splitText(c.reasoning ?? '')) deltas.push({ [c.reasoningField ?? 'reasoning_content']: piece });
  for (const piece of splitText(c.content ?? '')) deltas.push({ content: piece });
  c.toolCalls.forEach((t, index) => {
    if (c.toolCallsAtIndexZero === true) {
      deltas.push({ tool_calls: [{ index: 0, id: t.id, type: 'function', function: { name: t.name, arguments: t.arguments } }] });
      return;
    }
    deltas.push({
      tool_calls: [{ index, id: t.id, type: 'function', function: { name: t.name, arguments: '' } }],
    });
    for (const piece of splitText(t.arguments)) {
      deltas.push({ tool_calls: [{ index, function: { arguments: piece } }] });
    }
  });
  const created = Math.floor(Date.now() / 1000);
  const chunk = (choices: Json[], usage: Json | null): Json => ({
    id: c.id,
    object: 'chat.completion.chunk',
    created,
    model: c.model,
    choices,
    // OpenAI sends `usage: null` on every chunk but the last once usage was asked for.
    ...(includeUsage ? { usage } : {}),
  });
  const chunks = deltas.map((delta) => chunk([{ index: 0, delta, finish_reason: null, logprobs: null }], null));
  chunks.push(chunk([{ index: 0, delta: {}, finish_reason: c.finishReason, logprobs: null }], null));
  if (includeUsage && c.usage) chunks.push(chunk([], usageJson(c.usage)));
  return chunks;
}

/** Splits into up to three pieces on code-point boundaries, so deltas really arrive in parts. */
export function splitText(text: string): string[] {
  const chars = Array.from(text);
  if (chars.length === 0) return [];
  const size = Math.max(1, Math.ceil(chars.length / 3));
  const pieces: string[] = [];
  for (let i = 0; i < chars.length; i += size) pieces.push(chars.slice(i, i + size).join(''));
  return pieces;
}

const EmbeddingsBodySchema = z.looseObject({
  model: z.string(),
  input: z.union([z.string(), z.array(z.string())]),
  encoding_format: z.enum(['float', 'base64']).optional(),
});

/** An embeddings response body, or an error message for a request the real API would refuse. */
export function embeddingsJson(body: unknown, dimensions: number): { ok: true; json: Json } | { ok: false; message: string } {
  const parsed = EmbeddingsBodySchema.safeParse(body);
  if (!parsed.success) {
    return { ok: false, message: `fake: invalid embeddings request: ${z.prettifyError(parsed.error)}` };
  }
  const inputs = typeof parsed.data.input === 'string' ? [parsed.data.input] : parsed.data.input;
  // The SDK asks for base64 (packed little-endian float32) unless the caller chose a format.
  const base64 = parsed.data.encoding_format === 'base64';
  const data = inputs.map((text, index) => {
    const vector = fakeEmbedding(text, dimensions);
    const embedding = base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
    return { object: 'embedding', index, embedding };
  });
  const tokens = inputs.reduce((n, text) => n + Math.ceil(text.length / 4), 0);
  return {
    ok: true,
    json: { object: 'list', data, model: parsed.data.model, usage: { prompt_tokens: tokens, total_tokens: tokens } },
  };
}

/** Deterministic unit vector seeded by a hash of the text: same text, same vector. */
export function fakeEmbedding(text: string, dimensions: number): number[] {
  const values: number[] = [];
  for (let block = 0; values.length < dimensions; block++) {
    const digest = createHash('sha256').update(`${block}:${text}`).digest();
    for (let i = 0; i + 1 < digest.length && values.length < dimensions; i += 2) {
      values.push(digest.readUInt16LE(i) / 32767.5 - 1);
    }
  }
  const norm = Math.hypot(...values) || 1;
  return values.map((v) => v / norm);
}
