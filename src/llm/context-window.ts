/**
 * How many tokens the model's context window holds, and where that number came from:
 * CAIRN_CONTEXT_TOKENS, else what the server says (../shared/notes/model-servers.md §5
 * "Discovering the context length"), else a small table of hosted models, else a stated default.
 * Probes are short and failures fall through silently (logged at debug): a server that does not
 * have an endpoint simply answers 404. `cairn doctor` calls this too.
 */
import { z } from 'zod';
import type { Logger } from '../log.js';

export type ContextWindowSource =
  | 'CAIRN_CONTEXT_TOKENS'
  | 'ollama /api/ps'
  | 'ollama /api/show'
  | 'vllm /v1/models'
  | 'llama.cpp /props'
  | 'lm studio'
  | 'openrouter /models'
  | 'known model'
  | 'default';

export interface ContextWindowInfo {
  tokens: number;
  source: ContextWindowSource;
}

/** Used when nothing else says: small enough for most local servers, stated in the README. */
export const DEFAULT_CONTEXT_TOKENS = 8_192;

/**
 * Ollama ≥0.15.5 gives a model 4,096 tokens on a GPU below 23 GiB unless OLLAMA_CONTEXT_LENGTH or
 * a Modelfile `num_ctx` says otherwise (notes §5 "Ollama's default context"), and over the window
 * it truncates silently instead of refusing. So a model that is not loaded and has no `num_ctx`
 * is taken to have 4,096 (or its trained size, if smaller).
 */
export const OLLAMA_DEFAULT_CONTEXT_TOKENS = 4_096;

/**
 * Hosted models whose servers publish no window, by id prefix (an `openai/` router prefix is
 * ignored). Sizes from OpenAI's model pages (platform.openai.com/docs/models/<id>).
 */
const KNOWN_MODELS: readonly (readonly [RegExp, number])[] = [
  [/^gpt-4\.1/, 1_047_576],
  [/^gpt-5/, 400_000],
  [/^(o1|o3|o4-mini)/, 200_000],
  [/^gpt-4o/, 128_000],
  [/^gpt-4-turbo/, 128_000],
  [/^gpt-3\.5-turbo/, 16_385],
];

export interface ResolveContextOptions {
  model: string;
  /** OPENAI_BASE_URL; without it (OpenAI itself) nothing is probed. */
  baseURL?: string | undefined;
  /** Sent as a bearer token to the same server: vLLM with --api-key guards /v1/models too. */
  apiKey?: string | undefined;
  /** CAIRN_CONTEXT_TOKENS. */
  configured?: number | undefined;
  /** Per probe (default 2 s): discovery must not hold up the first request for long. */
  timeoutMs?: number;
  log?: Logger;
  fetch?: typeof fetch;
}

const positive = z.number().int().positive();
const OllamaPs = z.object({ models: z.array(z.looseObject({ name: z.string().optional(), model: z.string().optional(), context_length: positive.optional() })) });
const OllamaShow = z.looseObject({ parameters: z.string().optional(), model_info: z.record(z.string(), z.unknown()).optional() });
const ModelList = z.object({
  data: z.array(z.looseObject({ id: z.string(), max_model_len: positive.optional(), context_length: positive.optional() })),
});
const LlamaCppProps = z.looseObject({ default_generation_settings: z.looseObject({ n_ctx: positive }) });
const LmStudioModels = z.object({
  data: z.array(z.looseObject({ id: z.string(), max_context_length: positive.optional(), loaded_context_length: positive.optional() })),
});

type Probe = () => Promise<number | null>;

export async function resolveContextWindow(options: ResolveContextOptions): Promise<ContextWindowInfo> {
  if (options.configured !== undefined) return { tokens: options.configured, source: 'CAIRN_CONTEXT_TOKENS' };
  const probes = probesFor(options);
  // All at once, each bounded by its timeout; the first source in this order that answered wins.
  const answers = await Promise.all(probes.map(async ([source, probe]) => [source, await settle(probe, source, options.log)] as const));
  for (const [source, tokens] of answers) if (tokens !== null) return { tokens, source };
  const known = knownModelWindow(options.model);
  if (known !== null) return { tokens: known, source: 'known model' };
  return { tokens: DEFAULT_CONTEXT_TOKENS, source: 'default' };
}

/** The table's size for a hosted model id, or null. */
export function knownModelWindow(model: string): number | null {
  const id = model.replace(/^openai\//i, '').toLowerCase();
  return KNOWN_MODELS.find(([pattern]) => pattern.test(id))?.[1] ?? null;
}

async function settle(probe: Probe, source: ContextWindowSource, log: Logger | undefined): Promise<number | null> {
  try {
    return await probe();
  } catch (err) {
    log?.debug({ err, source }, 'context window probe found nothing');
    return null;
  }
}

function probesFor(options: ResolveContextOptions): [ContextWindowSource, Probe][] {
  if (options.baseURL === undefined) return [];
  let api: URL;
  try {
    api = new URL(options.baseURL.replace(/\/+$/, ''));
  } catch {
    return [];
  }
  if (api.hostname === 'api.openai.com') return [];
  // Ollama, llama.cpp and LM Studio serve their own routes beside /v1, at the server's root.
  const root = `${api.origin}${api.pathname.replace(/\/v1$/, '')}`;
  const get = getter(options);
  const model = options.model;
  // One request to /models serves both readings of it.
  let models: Promise<unknown> | undefined;
  const modelList = (): Promise<unknown> => (models ??= get(`${api.href}/models`));
  return [
    ['ollama /api/ps', async () => ollamaLoaded(await get(`${root}/api/ps`), model)],
    ['ollama /api/show', async () => ollamaShown(await get(`${root}/api/show`, { model }))],
    ['vllm /v1/models', async () => listed(await modelList(), model, 'max_model_len')],
    ['llama.cpp /props', async () => LlamaCppProps.parse(await get(`${root}/props`)).default_generation_settings.n_ctx],
    ['lm studio', async () => lmStudio(await get(`${root}/api/v0/models`), model)],
    ['openrouter /models', async () => listed(await modelList(), model, 'context_length')],
  ];
}

function getter(options: ResolveContextOptions): (url: string, post?: unknown) => Promise<unknown> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 2_000;
  return async (url, post) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;
    if (post !== undefined) headers['content-type'] = 'application/json';
    const response = await doFetch(url, {
      method: post === undefined ? 'GET' : 'POST',
      headers,
      ...(post === undefined ? {} : { body: JSON.stringify(post) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    const body: unknown = await response.json();
    return body;
  };
}

/** Ollama ≥0.10.0: the context actually allocated to a loaded model (notes §5). */
function ollamaLoaded(body: unknown, model: string): number | null {
  const names = new Set([model, `${model}:latest`]);
  const entry = OllamaPs.parse(body).models.find((m) => names.has(m.name ?? '') || names.has(m.model ?? ''));
  return entry?.context_length ?? null;
}

/** A Modelfile `num_ctx` when there is one, else Ollama's usual default capped by the trained size. */
function ollamaShown(body: unknown): number | null {
  const show = OllamaShow.parse(body);
  const numCtx = /^\s*num_ctx\s+(\d+)/m.exec(show.parameters ?? '')?.[1];
  if (numCtx !== undefined) return Number(numCtx);
  const trained = Object.entries(show.model_info ?? {}).find(([key]) => key.endsWith('.context_length'))?.[1];
  if (typeof trained !== 'number') return null;
  return Math.min(trained, OLLAMA_DEFAULT_CONTEXT_TOKENS);
}

/** vLLM and SGLang: `data[].max_model_len`; OpenRouter: `data[].context_length`. */
function listed(body: unknown, model: string, field: 'max_model_len' | 'context_length'): number | null {
  return ModelList.parse(body).data.find((m) => m.id === model)?.[field] ?? null;
}

/** LM Studio's `/api/v0/models`: the loaded size when loaded, else the model's maximum. */
function lmStudio(body: unknown, model: string): number | null {
  const entry = LmStudioModels.parse(body).data.find((m) => m.id === model);
  return entry?.loaded_context_length ?? entry?.max_context_length ?? null;
}
