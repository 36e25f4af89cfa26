/**
 * Mapping between Cairn's chat vocabulary and the Chat Completions wire format: request
 * parameters out, zod-validated completions in. Schemas are tolerant on purpose: they check only
 * the fields we use, so OpenAI-compatible servers with extra or missing extras still work.
 */
import { randomUUID } from 'node:crypto';
import type {
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
  ChatCompletionFunctionTool,
} from 'openai/resources/chat/completions';
import { z } from 'zod';
import type { ChatMessage, ChatRequest, ChatResponse, TokenUsage, ToolCall, ToolSpec } from './types.js';
import { joinReasoning, splitReasoning } from './reasoning.js';
import { parseTextToolCalls } from './tool-text.js';
import { estimateTextTokens, estimateTokens } from './tokens.js';

export function toWireMessage(message: ChatMessage): ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user': {
      const images = message.images ?? [];
      if (images.length === 0) return { role: 'user', content: message.content };
      // Chat Completions content parts: the text, then each image as a data URI (notes §8).
      return {
        role: 'user',
        content: [
          { type: 'text', text: message.content },
          ...images.map((image) => ({ type: 'image_url' as const, image_url: { url: `data:${image.mimeType};base64,${image.data}` } })),
        ],
      };
    }
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
    case 'assistant': {
      const calls = message.toolCalls ?? [];
      if (calls.length === 0) return { role: 'assistant', content: message.content ?? '' };
      return {
        role: 'assistant',
        content: message.content,
        tool_calls: calls.map((call) => ({
          id: call.id,
          type: 'function' as const,
          function: { name: call.name, arguments: call.arguments },
        })),
      };
    }
  }
}

export function toWireTool(tool: ToolSpec): ChatCompletionFunctionTool {
  return {
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: tool.parameters },
  };
}

/** Where a request goes, for the parameters that differ by server. */
export interface ServerTarget {
  baseURL?: string;
}

/**
 * OpenAI itself: it honours `max_completion_tokens` on every model and refuses `max_tokens` on its
 * reasoning models with 400 "Unsupported parameter: 'max_tokens' is not supported with this model.
 * Use 'max_completion_tokens' instead." (code `unsupported_parameter`; o1/o3-mini: gollm#33,
 * gpt-5: griptape-ai/ComfyUI-Griptape#312, gpt-5.1 on Azure: opencode#37964). Known by the host
 * (api.openai.com, Azure OpenAI) or by a bare model id of those families; "openai/o3" is a router
 * id (OpenRouter documents `max_tokens` and translates it), so it gets both fields.
 */
function refusesMaxTokens(model: string, server: ServerTarget): boolean {
  if (/^(o\d|gpt-5)/i.test(model)) return true;
  try {
    const host = new URL(server.baseURL ?? '').hostname;
    return host === 'api.openai.com' || /\.openai\.azure\.com$|\.cognitiveservices\.azure\.com$|\.services\.ai\.azure\.com$/.test(host);
  } catch {
    return false;
  }
}

/** Request parameters shared by the plain and the streamed call. */
export function buildParams(model: string, request: ChatRequest, server: ServerTarget = {}): ChatCompletionCreateParamsNonStreaming {
  const params: ChatCompletionCreateParamsNonStreaming = {
    model,
    messages: request.messages.map(toWireMessage),
  };
  if (request.tools && request.tools.length > 0) {
    params.tools = request.tools.map(toWireTool);
    params.tool_choice = 'auto';
  }
  if (request.temperature !== undefined) params.temperature = request.temperature;
  if (request.maxOutputTokens !== undefined) {
    // Both fields (notes §7 "Send both"): Ollama ignores max_completion_tokens and, without
    // max_tokens, generates unbounded (ollama#7125); LM Studio and OpenRouter document only
    // max_tokens; vLLM, llama.cpp and SGLang take both and prefer max_completion_tokens.
    params.max_completion_tokens = request.maxOutputTokens;
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated at OpenAI, the only limit Ollama honours
    if (!refusesMaxTokens(model, server)) params.max_tokens = request.maxOutputTokens;
  }
  const format = request.responseFormat;
  if (format?.type === 'json_object') {
    // Only "some JSON": the schema travels in the instructions (structured.ts).
    params.response_format = { type: 'json_object' };
  } else if (format) {
    params.response_format = {
      type: 'json_schema',
      // strict: false because strict mode rejects common JSON Schema (optional fields, unions).
      json_schema: { name: format.name, schema: format.schema, strict: false },
    };
  }
  return params;
}

/** Some servers send tool arguments as an object rather than JSON text; both are accepted. */
export const WireArguments = z
  .union([z.string(), z.record(z.string(), z.unknown())])
  .nullish()
  .transform((value) => (value == null ? '' : typeof value === 'string' ? value : JSON.stringify(value)));

export const WireUsage = z.looseObject({
  prompt_tokens: z.number().nullish(),
  completion_tokens: z.number().nullish(),
});

/**
 * Text of a message or a stream delta, with the non-standard reasoning fields some servers add
 * (the SDK types neither, so they are read here, through zod). Per ../shared/notes/model-servers.md §3:
 * `reasoning` from vLLM since PR #27752 (Nov 2025; `reasoning_content` removed by #33402), Ollama
 * ≥0.12.4, OpenRouter and LM Studio's gpt-oss; `reasoning_content` from llama.cpp
 * (`--reasoning-format deepseek`), SGLang (`--reasoning-parser`), LM Studio and older vLLM.
 */
export const WIRE_TEXT_FIELDS = {
  content: z.string().nullish(),
  reasoning_content: z.string().nullish(),
  reasoning: z.string().nullish(),
};

/** The reasoning field of a message or delta: `reasoning ?? reasoning_content` (notes §9), skipping empty ones. */
export function reasoningField(fields: { reasoning?: string | null | undefined; reasoning_content?: string | null | undefined }): string | undefined {
  return fields.reasoning || fields.reasoning_content || undefined;
}

const WireCompletion = z.looseObject({
  model: z.string().nullish(),
  choices: z
    .array(
      z.looseObject({
        finish_reason: z.string().nullish(),
        message: z.looseObject({
          ...WIRE_TEXT_FIELDS,
          tool_calls: z
            .array(
              z.looseObject({
                id: z.string().nullish(),
                function: z.looseObject({ name: z.string(), arguments: WireArguments }),
              }),
            )
            .nullish(),
        }),
      }),
    )
    .min(1, 'it has no choices'),
  usage: WireUsage.nullish(),
});

/** Tool-call ids are required by us but omitted by some local servers; invent unique ones. */
export function fallbackToolCallId(): string {
  return `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

/** A short description of why a value failed a schema, safe to show to a user. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

export interface AssembledReply {
  /** The content as the server sent it, reasoning tags and all. */
  content: string | null;
  /** What the server sent in its reasoning field. */
  reasoning: string | undefined;
  toolCalls: ToolCall[];
  finishReason: string | undefined;
  model: string | undefined;
  usage: z.infer<typeof WireUsage> | null | undefined;
}

/**
 * Turns the parts of a reply (from one JSON body or many chunks) into a ChatResponse. Reasoning
 * left in the content (`<think>…</think>`, a lone `</think>`: notes §3) is taken out here, so
 * `content` is the answer alone, whether streamed or not, with tool calls or without.
 */
export function finishReply(reply: AssembledReply, request: ChatRequest, fallbackModel: string): ChatResponse {
  const split = splitReasoning(reply.content ?? '');
  // Calls a model wrote as text because the server did not parse them run as calls, never shown as
  // an answer. Looked for after the reasoning split, so markup inside thoughts is never run.
  const textCalls = reply.toolCalls.length === 0 && (request.tools?.length ?? 0) > 0 ? parseTextToolCalls(split.text, new Set(request.tools?.map((t) => t.name))) : null;
  const toolCalls = textCalls === null ? reply.toolCalls : textCalls.calls.map((call) => ({ id: fallbackToolCallId(), name: call.name, arguments: call.arguments }));
  const answer = textCalls === null ? split.text : textCalls.text;
  // A reply with only reasoning has no answer: null, as for an empty reply.
  const content = answer.trim() === '' ? null : answer;
  const reasoning = joinReasoning(reply.reasoning, split.reasoning);
  const promptTokens = reply.usage?.prompt_tokens;
  const completionTokens = reply.usage?.completion_tokens;
  const estimated = typeof promptTokens !== 'number' || typeof completionTokens !== 'number';
  const outputChars =
    (reply.content?.length ?? 0) +
    (reply.reasoning?.length ?? 0) +
    reply.toolCalls.reduce((n, c) => n + c.name.length + c.arguments.length, 0);
  const usage: TokenUsage = {
    promptTokens: typeof promptTokens === 'number' ? promptTokens : estimateTokens(request.messages),
    completionTokens: typeof completionTokens === 'number' ? completionTokens : estimateTextTokens(outputChars),
  };
  return {
    content,
    reasoning,
    toolCalls,
    usage,
    usageEstimated: estimated,
    finishReason: textCalls === null ? (reply.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop')) : 'tool_calls',
    model: reply.model ?? fallbackModel,
  };
}

/** Validates a non-streamed completion body; `issue` explains a rejection. */
export function parseCompletion(
  body: unknown,
  request: ChatRequest,
  fallbackModel: string,
): { ok: true; response: ChatResponse } | { ok: false; issue: string } {
  const parsed = WireCompletion.safeParse(body);
  if (!parsed.success) {
    return { ok: false, issue: typeof body === 'string' ? 'it is not JSON' : describeIssues(parsed.error) };
  }
  const choice = parsed.data.choices[0];
  if (!choice) return { ok: false, issue: 'it has no choices' };
  const message = choice.message;
  const toolCalls = (message.tool_calls ?? []).map((call) => ({
    id: call.id ?? fallbackToolCallId(),
    name: call.function.name,
    arguments: call.function.arguments,
  }));
  const response = finishReply(
    {
      content: message.content ?? null,
      reasoning: reasoningField(message),
      toolCalls,
      finishReason: choice.finish_reason ?? undefined,
      model: parsed.data.model ?? undefined,
      usage: parsed.data.usage,
    },
    request,
    fallbackModel,
  );
  return { ok: true, response };
}
