/**
 * The fake model server's context-window behaviour: the discovery routes real servers have
 * (../shared/notes/model-servers.md §5 "Discovering the context length"), and a handler that
 * refuses prompts over a window as the real servers do (§5 "Overflow behaviour").
 */
import type { ChatCompletionRequestBody, ScriptedReply } from './openai-server.js';
import { vllmContextOverflow } from './openai-error-bodies.js';

export interface FakeDiscovery {
  /** Ollama: `GET /api/ps` (loaded models and their allocated context) and `POST /api/show`. */
  ollama?: { loaded?: { name: string; contextLength: number }[]; parameters?: string; modelInfo?: Record<string, unknown> };
  /** vLLM and SGLang: `max_model_len` on every `/v1/models` entry. */
  vllmMaxModelLen?: number;
  /** llama.cpp: `GET /props` → `default_generation_settings.n_ctx`. */
  llamaCppNCtx?: number;
  /** LM Studio: `GET /api/v0/models`. */
  lmStudio?: { id: string; maxContextLength: number; loadedContextLength?: number }[];
}

/** The body of a discovery route the options turn on, or undefined (then it 404s as before). */
export function discoveryReply(discovery: FakeDiscovery | undefined, method: string, path: string): unknown {
  const { ollama, llamaCppNCtx, lmStudio } = discovery ?? {};
  if (ollama !== undefined && method === 'GET' && path === '/api/ps') {
    return { models: (ollama.loaded ?? []).map((m) => ({ name: m.name, model: m.name, size: 0, context_length: m.contextLength })) };
  }
  if (ollama !== undefined && method === 'POST' && path === '/api/show') {
    return { parameters: ollama.parameters ?? '', model_info: ollama.modelInfo ?? {}, capabilities: ['completion', 'tools'] };
  }
  if (llamaCppNCtx !== undefined && method === 'GET' && path === '/props') {
    return { default_generation_settings: { n_ctx: llamaCppNCtx }, total_slots: 1, modalities: { vision: false } };
  }
  if (lmStudio !== undefined && method === 'GET' && path === '/api/v0/models') {
    const data = lmStudio.map((m) => ({
      id: m.id,
      object: 'model',
      type: 'llm',
      state: m.loadedContextLength === undefined ? 'not-loaded' : 'loaded',
      max_context_length: m.maxContextLength,
      ...(m.loadedContextLength === undefined ? {} : { loaded_context_length: m.loadedContextLength }),
    }));
    return { object: 'list', data };
  }
  return undefined;
}

/**
 * The fake's token count for a chat request: its messages and tools as JSON, ~4 characters a
 * token (stricter than src/llm/tokens.ts, which counts only the text), plus the reply's max_tokens.
 */
export function fakePromptTokens(body: ChatCompletionRequestBody): number {
  const chars = JSON.stringify(body.messages).length + JSON.stringify(body.tools ?? []).length;
  const reply = typeof body.max_tokens === 'number' ? body.max_tokens : 0;
  return Math.ceil(chars / 4) + reply;
}

/**
 * A `respondWith` handler for a server with a `window`-token context: a request over it gets
 * the overflow reply (default vLLM's 400), the others `next`, numbered among themselves.
 */
export function withContextWindow(
  window: number,
  next: (body: ChatCompletionRequestBody, index: number) => ScriptedReply,
  overflow: (tokens: number) => ScriptedReply = (tokens) => vllmContextOverflow(window, tokens),
): (body: ChatCompletionRequestBody) => ScriptedReply {
  let answered = 0;
  return (body) => {
    const tokens = fakePromptTokens(body);
    return tokens > window ? overflow(tokens) : next(body, answered++);
  };
}

/** A text file of numbered lines, about `chars` characters: far more than a small window holds. */
export function bigFile(chars: number): string {
  const lines: string[] = [];
  for (let i = 0, n = 0; n < chars; i++) {
    const line = `line ${i}: the quick brown fox jumps over the lazy dog while the model reads on`;
    lines.push(line);
    n += line.length + 1;
  }
  return lines.join('\n');
}
