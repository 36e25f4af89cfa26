/**
 * Compatibility profiles for the fake model server: how OpenAI, Ollama, vLLM, llama.cpp's server,
 * LM Studio and OpenRouter answer `/v1/chat/completions`, as ../shared/notes/model-servers.md
 * records them (cited by section). A profile is data; `profileHandler` turns a scripted "model
 * brain" (what the model wants to do) into the reply that server would send, for `respondWith`.
 *
 * Not emulated: Ollama's silent truncation (§5): a profile with `overflow: null` answers anyway
 * and the handler counts the request in `overWindow`, so a test can require that none went over.
 */
import { z } from 'zod';
import {
  llamaCppNoMmproj,
  llamaCppOverflow,
  lmStudioNoImages,
  lmStudioError,
  lmStudioOnlyJsonSchema,
  ollamaNoImages,
  ollamaNoTools,
  openAiError,
  openRouterNoImageEndpoints,
  openRouterNoToolEndpoints,
  vllmContextOverflow,
  vllmNoAutoToolChoice,
  vllmNotMultimodal,
} from './openai-error-bodies.js';
import type { ReasoningWire, ScriptedReply } from './openai-replies.js';
import { imagesOf, textOf } from './openai-content.js';
import { fakePromptTokens, type ChatCompletionRequestBody, type FakeOpenAiOptions } from './openai-server.js';

export { imagesOf, textOf } from './openai-content.js';

type ErrorReply = Extract<ScriptedReply, { kind: 'error' }>;

export type ProfileName =
  | 'openai'
  | 'ollama-tools'
  | 'ollama-no-tools'
  | 'ollama-reasoning'
  | 'vllm-parsers'
  | 'vllm-bare'
  | 'llamacpp'
  | 'lmstudio'
  | 'openrouter'
  | 'vllm-vision';

export interface ServerProfile {
  name: ProfileName;
  /**
   * The model id the app is configured with. Distinct per profile: CAIRN_TOOL_CALLING=auto
   * remembers a refusal per model id for the whole process (src/llm/adaptive-tools.ts).
   */
  model: string;
  /** A request carrying `tools` gets this reply (§2 "Tool calling"); absent: tools are taken. */
  toolsRefusal?: ErrorReply;
  /**
   * How a call the model makes reaches the client when nothing parses it (§2 "Raw tool-call text"):
   * `lmstudio`: `[TOOL_REQUEST]…[END_TOOL_REQUEST]` in `content` even when `tools` were sent (LM
   * Studio's parse failure); `hermes`: `<tool_call>…</tool_call>` in `content` when the tools are
   * in the prompt (a Qwen model on vLLM without --tool-call-parser writes its template's markup).
   */
  rawCalls?: 'lmstudio' | 'hermes';
  /** Where thoughts go (§3; the wire forms are in openai-replies.ts); absent: no reasoning model. */
  reasoning?: ReasoningWire;
  /** Error bodies (§1): `nested` `{"error":{"message"}}`, `string` `{"error":"X"}` (LM Studio). */
  errorShape: 'nested' | 'string';
  /** A `json_schema` response_format is refused with this (§4); absent: taken. */
  jsonSchemaRefusal?: ErrorReply;
  /** A `json_object` response_format is refused with this (§4); absent: taken. */
  jsonObjectRefusal?: ErrorReply;
  /** The context window in the fake's token count (openai-window.ts `fakePromptTokens`). */
  window: number;
  /** The reply to a prompt over the window (§5); null: the real server truncates silently (Ollama). */
  overflow: ((window: number, tokens: number) => ErrorReply) | null;
  /** Where the window is discovered (§5 "Discovering the context length"): options for startFakeOpenAi. */
  server: FakeOpenAiOptions;
  /** Usage in streams (§6): only with `stream_options.include_usage`, or always (OpenRouter; not emulated: the fake follows include_usage). */
  streamUsage: 'include_usage' | 'always';
  /** Streams: every tool call whole at `index` 0 (§2, ollama#15457 / #15497). */
  callsAtIndexZero?: boolean;
  /** A request with an `image_url` part gets this reply (§8: a model that cannot see); absent: the model sees. */
  imageRefusal?: ErrorReply;
}

/** OpenAI's overflow wording and `code` (§5, chatbot-ui#102), for any window. */
const openAiOverflow = (window: number, tokens: number): ErrorReply =>
  openAiError(400, `This model's maximum context length is ${window} tokens. However, you requested ${tokens} tokens. Please reduce the length of the messages or completion.`, {
    param: 'messages',
    code: 'context_length_exceeded',
  });

/** LM Studio's overflow, a string body (§5, lmstudio-bug-tracker#237). */
const lmStudioOverflow = (window: number, tokens: number): ErrorReply =>
  lmStudioError(400, `Trying to keep the first ${tokens} tokens when context the overflows. However, the model is loaded with context length of only ${window} tokens, which is not enough. Try to load the model with a larger context length, or provide a shorter input`);

/** OpenRouter's overflow, nested with `metadata` (§5, Aider#3721). */
const openRouterOverflow = (window: number, tokens: number): ErrorReply => ({
  kind: 'error',
  status: 400,
  contentType: 'application/json',
  body: JSON.stringify({
    error: {
      message: `This endpoint's maximum context length is ${window} tokens. However, you requested about ${tokens} tokens (${tokens} of text input). Please reduce the length of either one, or use the "middle-out" transform to compress your prompt automatically.`,
      code: 400,
      metadata: { provider_name: 'Fake' },
    },
  }),
});

export const PROFILES: readonly ServerProfile[] = [
  // The reference: native tools, nested errors, no discovery route; the window comes from src's table of known models.
  { name: 'openai', model: 'gpt-4o-mini', errorShape: 'nested', window: 128_000, overflow: openAiOverflow, server: {}, streamUsage: 'include_usage' },
  // Ollama, a tool-capable model: calls whole at index 0 in streams (§2), silent truncation (§5), window from `num_ctx` in /api/show.
  {
    name: 'ollama-tools',
    model: 'llama3.1:8b',
    errorShape: 'nested',
    window: 8_192,
    overflow: null,
    server: { models: ['llama3.1:8b'], discovery: { ollama: { parameters: 'num_ctx 8192', modelInfo: { 'llama.context_length': 131_072 } } } },
    streamUsage: 'include_usage',
    callsAtIndexZero: true,
    imageRefusal: ollamaNoImages,
  },
  // Ollama, a model whose template declares no tools: 400 "<model> does not support tools" (§2, ollama#14795);
  // not loaded and no num_ctx, so the window is Ollama's 4,096 default (§5 "Ollama's default context").
  {
    name: 'ollama-no-tools',
    model: 'gemma3:4b',
    toolsRefusal: ollamaNoTools('registry.ollama.ai/library/gemma3:4b'),
    errorShape: 'nested',
    window: 4_096,
    overflow: null,
    server: { models: ['gemma3:4b'], discovery: { ollama: { modelInfo: { 'gemma3.context_length': 131_072 } } } },
    streamUsage: 'include_usage',
  },
  // Ollama ≥0.12.4, a thinking model: thoughts in `reasoning`, on by default (§3); loaded with 16,384 (/api/ps, §5).
  {
    name: 'ollama-reasoning',
    model: 'qwen3:8b',
    reasoning: 'reasoning',
    errorShape: 'nested',
    window: 16_384,
    overflow: null,
    server: { models: ['qwen3:8b'], discovery: { ollama: { loaded: [{ name: 'qwen3:8b', contextLength: 16_384 }] } } },
    streamUsage: 'include_usage',
    callsAtIndexZero: true,
    imageRefusal: ollamaNoImages,
  },
  // vLLM with --enable-auto-tool-choice --tool-call-parser and --reasoning-parser: `reasoning` since PR #27752 (§3),
  // nested errors since v0.10.1 (§1), window from /v1/models max_model_len (§5).
  {
    name: 'vllm-parsers',
    model: 'Qwen/Qwen3-8B',
    reasoning: 'reasoning',
    errorShape: 'nested',
    window: 32_768,
    overflow: vllmContextOverflow,
    server: { models: ['Qwen/Qwen3-8B'], discovery: { vllmMaxModelLen: 32_768 } },
    streamUsage: 'include_usage',
    imageRefusal: vllmNotMultimodal('Qwen/Qwen3-8B'),
  },
  // vLLM without the flags: `tools` refused with 400 (§2 `check_tool_usage`), `<think>` left in content (§3),
  // the model writes its Hermes `<tool_call>` markup (§2 "Text formats"), an 8,192 max_model_len.
  {
    name: 'vllm-bare',
    model: 'Qwen/Qwen3-4B',
    toolsRefusal: vllmNoAutoToolChoice,
    rawCalls: 'hermes',
    reasoning: 'think_tags',
    errorShape: 'nested',
    window: 8_192,
    overflow: vllmContextOverflow,
    server: { models: ['Qwen/Qwen3-4B'], discovery: { vllmMaxModelLen: 8_192 } },
    streamUsage: 'include_usage',
    imageRefusal: vllmNotMultimodal('Qwen/Qwen3-4B'),
  },
  // llama.cpp's server with --jinja (default since PR #17524, §2), --reasoning-format deepseek → `reasoning_content` (§3),
  // a 4,096 n_ctx from /props and its exceed_context_size_error 400 (§5).
  {
    name: 'llamacpp',
    model: 'qwen3-8b-q4_k_m.gguf',
    reasoning: 'reasoning_content',
    errorShape: 'nested',
    window: 4_096,
    overflow: llamaCppOverflow,
    server: { models: ['qwen3-8b-q4_k_m.gguf'], discovery: { llamaCppNCtx: 4_096 } },
    streamUsage: 'include_usage',
    // Started without --mmproj: a 500 (§8, ClaraVerse#234).
    imageRefusal: llamaCppNoMmproj,
  },
  // LM Studio: string error bodies (§1), tool calls it cannot parse left in content as `[TOOL_REQUEST]` (§2),
  // json_object refused before 0.3.18 (§4, lmstudio-bug-tracker#307), window from /api/v0/models (§5).
  {
    name: 'lmstudio',
    model: 'qwen2.5-7b-instruct',
    rawCalls: 'lmstudio',
    errorShape: 'string',
    jsonObjectRefusal: lmStudioOnlyJsonSchema,
    window: 8_192,
    overflow: lmStudioOverflow,
    server: { models: ['qwen2.5-7b-instruct'], discovery: { lmStudio: [{ id: 'qwen2.5-7b-instruct', maxContextLength: 32_768, loadedContextLength: 8_192 }] } },
    streamUsage: 'include_usage',
    imageRefusal: lmStudioNoImages,
  },
  // OpenRouter, a model no provider serves with tools: 404 "No endpoints found that support tool use" (§2, fast-agent#122),
  // thoughts in `reasoning` (§3), window from /api/v1/models `context_length` (§5), usage always in streams (§6).
  {
    name: 'openrouter',
    model: 'deepseek/deepseek-r1-distill-qwen-7b',
    toolsRefusal: openRouterNoToolEndpoints,
    reasoning: 'reasoning',
    errorShape: 'nested',
    window: 32_768,
    overflow: openRouterOverflow,
    server: { models: ['deepseek/deepseek-r1-distill-qwen-7b'], modelFields: { context_length: 32_768 } },
    streamUsage: 'always',
    imageRefusal: openRouterNoImageEndpoints,
  },
];

/**
 * A model that sees: vLLM serving Qwen2.5-VL with tool parsers (§8: vLLM takes data URIs in
 * `image_url` parts). Kept out of PROFILES, whose every-mode suite it would only lengthen; the
 * openai (gpt-4o-mini) and ollama-no-tools (gemma3:4b, `vision` in Ollama's capabilities) profiles see too.
 */
export const VISION_PROFILE: ServerProfile = {
  name: 'vllm-vision',
  model: 'Qwen/Qwen2.5-VL-7B-Instruct',
  errorShape: 'nested',
  window: 32_768,
  overflow: vllmContextOverflow,
  server: { models: ['Qwen/Qwen2.5-VL-7B-Instruct'], discovery: { vllmMaxModelLen: 32_768 } },
  streamUsage: 'include_usage',
};

export function profile(name: ProfileName): ServerProfile {
  const found = [...PROFILES, VISION_PROFILE].find((p) => p.name === name);
  if (found === undefined) throw new Error(`no profile ${name}`);
  return found;
}

/** What the model wants to do next. */
export type Intent =
  | { kind: 'call'; tool: string; arguments: Record<string, unknown> }
  | { kind: 'answer'; text: string }
  | { kind: 'json'; value: unknown };

/** A request as the brain sees it, whatever the server and the tool-calling mode. */
export interface BrainView {
  /** The structured-output format asked for ("plan", "lesson", …) by json_schema or in the instructions, else null. */
  format: string | null;
  /** Tools offered: as `tools`, described in the prompt (CAIRN_TOOL_CALLING prompt mode), or none. */
  tools: 'native' | 'prompt' | 'none';
  /** Names of the tools whose results are in the conversation, in order. */
  observed: string[];
  /** The image parts the request carries (user messages' `image_url` parts), as their data URIs' media types. */
  images: string[];
  body: ChatCompletionRequestBody;
}

export type Brain = (view: BrainView) => Intent;

const JsonSchemaFormat = z.object({ response_format: z.object({ type: z.literal('json_schema'), json_schema: z.object({ name: z.string() }) }) });
const FormatType = z.object({ response_format: z.object({ type: z.string() }) });

/** The brain's view of a request; exported for tests that look at recorded requests. */
export function viewOf(body: ChatCompletionRequestBody): BrainView {
  const system = body.messages.filter((m) => m.role === 'system').map(textOf).join('\n');
  const schema = JsonSchemaFormat.safeParse(body);
  // Below json_schema, src/llm/structured.ts names the format in the system message.
  const format = schema.success ? schema.data.response_format.json_schema.name : (/Reply with only a JSON value for "([^"]+)"/.exec(system)?.[1] ?? null);
  const native = (body.tools?.length ?? 0) > 0;
  const tools = native ? 'native' : system.includes('## Tools') ? 'prompt' : 'none';
  const observed: string[] = [];
  const callNames = new Map<string, string>();
  for (const m of body.messages) {
    const calls = 'tool_calls' in m && Array.isArray(m.tool_calls) ? (m.tool_calls as { id?: string; function?: { name?: string } }[]) : [];
    for (const c of calls) callNames.set(c.id ?? '', c.function?.name ?? '');
    if (m.role === 'tool') {
      const id = 'tool_call_id' in m && typeof m.tool_call_id === 'string' ? m.tool_call_id : '';
      observed.push(callNames.get(id) ?? 'unknown');
    }
    if (m.role === 'user') for (const match of textOf(m).matchAll(/Observation from ([\w.-]+):/g)) observed.push(match[1] ?? '');
  }
  return { format, tools, observed, images: imagesOf(body), body };
}

/** A marker in every thought, so a test can check none reached an answer. */
export const THOUGHT_MARK = 'PROFILE-THOUGHT';

export interface ProfileHandler {
  (body: ChatCompletionRequestBody, index: number): ScriptedReply;
  /** Requests over the window a silently-truncating profile (overflow null) answered anyway. */
  readonly overWindow: number;
  /** Requests refused for carrying tools or a response_format, by the profile's rules. */
  readonly refused: number;
  /** Every reply sent, refusals and overflows included, so a test can see the quirks were exercised. */
  readonly replies: readonly ScriptedReply[];
}

/** A `respondWith` handler that answers as `p`'s server with the model `brain` behind it. */
export function profileHandler(p: ServerProfile, brain: Brain): ProfileHandler {
  let overWindow = 0;
  let refused = 0;
  let thoughts = 0;
  const replies: ScriptedReply[] = [];
  const handler = (body: ChatCompletionRequestBody, index: number): ScriptedReply => {
    const reply = answer(body, index);
    replies.push(reply);
    return reply;
  };
  const answer = (body: ChatCompletionRequestBody, index: number): ScriptedReply => {
    const tokens = fakePromptTokens(body);
    if (tokens > p.window) {
      if (p.overflow !== null) return p.overflow(p.window, tokens);
      overWindow++;
    }
    const view = viewOf(body);
    if (view.images.length > 0 && p.imageRefusal !== undefined) {
      refused++;
      return p.imageRefusal;
    }
    if (view.tools === 'native' && p.toolsRefusal !== undefined) {
      refused++;
      return p.toolsRefusal;
    }
    const formatType = FormatType.safeParse(body);
    const type = formatType.success ? formatType.data.response_format.type : undefined;
    const formatRefusal = type === 'json_schema' ? p.jsonSchemaRefusal : type === 'json_object' ? p.jsonObjectRefusal : undefined;
    if (formatRefusal !== undefined) {
      refused++;
      return formatRefusal;
    }
    const thought = p.reasoning === undefined ? {} : { reasoning: `${THOUGHT_MARK}-${++thoughts}: let me think about request ${index}.`, reasoningAs: p.reasoning };
    return { ...render(p, view, brain(view), index), ...thought };
  };
  return Object.defineProperties(handler, {
    overWindow: { get: () => overWindow },
    refused: { get: () => refused },
    replies: { get: () => replies },
  }) as ProfileHandler;
}

type Rendered = Extract<ScriptedReply, { kind: 'text' | 'tool_calls' }>;

function render(p: ServerProfile, view: BrainView, intent: Intent, index: number): Rendered {
  if (intent.kind === 'json') return { kind: 'text', content: JSON.stringify(intent.value) };
  const call = intent.kind === 'call' ? { name: intent.tool, arguments: intent.arguments } : undefined;
  if (view.tools === 'native') {
    if (call === undefined) return { kind: 'text', content: intent.kind === 'answer' ? intent.text : '' };
    if (p.rawCalls === 'lmstudio') return { kind: 'text', content: `[TOOL_REQUEST]${JSON.stringify(call)}[END_TOOL_REQUEST]` };
    return { kind: 'tool_calls', calls: [{ ...call, id: `call_${p.name}_${index}` }], ...(p.callsAtIndexZero === true ? { atIndexZero: true } : {}) };
  }
  if (view.tools === 'prompt') {
    if (call === undefined) return { kind: 'text', content: JSON.stringify({ action: 'final', answer: intent.kind === 'answer' ? intent.text : '' }) };
    if (p.rawCalls === 'hermes') return { kind: 'text', content: `<tool_call>\n${JSON.stringify(call)}\n</tool_call>` };
    if (p.rawCalls === 'lmstudio') return { kind: 'text', content: `[TOOL_REQUEST]${JSON.stringify(call)}[END_TOOL_REQUEST]` };
    return { kind: 'text', content: JSON.stringify({ action: 'call', tool: call.name, arguments: call.arguments }) };
  }
  // No tools offered (a plan's synthesis, a change comparison): a call cannot be made, so it answers.
  return { kind: 'text', content: intent.kind === 'answer' ? intent.text : '' };
}
