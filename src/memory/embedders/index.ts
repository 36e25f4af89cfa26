/** Picks the embedder named by CAIRN_EMBEDDINGS: "local" (offline, built in) or a served model id. */
import type { Logger } from '../../log.js';
import { loadLocalEmbedder } from './local.js';
import { OpenAiEmbedder } from './openai.js';
import type { Embedder } from './types.js';

export type { Embedder } from './types.js';
export { LocalEmbedder, loadLocalEmbedder } from './local.js';
export { OpenAiEmbedder } from './openai.js';
export { keywordQuery } from './tokenize.js';

export interface EmbedderLlmSettings {
  baseURL?: string;
  apiKey?: string;
  timeoutMs: number;
  maxRetries: number;
}

export async function createEmbedder(spec: string, llm: EmbedderLlmSettings, log: Logger): Promise<Embedder> {
  const name = spec.trim();
  if (name === '') throw new Error('CAIRN_EMBEDDINGS is empty: use "local" or an embeddings model id');
  if (name.toLowerCase() === 'local') {
    const started = performance.now();
    const embedder = await loadLocalEmbedder();
    log.debug({ embedder: embedder.id, dimensions: embedder.dimensions, ms: Math.round(performance.now() - started) }, 'local embedder loaded');
    return embedder;
  }
  const embedder = new OpenAiEmbedder({
    model: name,
    ...(llm.baseURL !== undefined ? { baseURL: llm.baseURL } : {}),
    ...(llm.apiKey !== undefined ? { apiKey: llm.apiKey } : {}),
    timeoutMs: llm.timeoutMs,
    maxRetries: llm.maxRetries,
    log,
  });
  // The store records the dimension with each table, so it must be known before first use.
  await embedder.probe();
  return embedder;
}
