/**
 * Choosing the web search provider from settings. With none configured there is no provider,
 * and the caller does not offer web_search at all (a tool that always fails only wastes steps).
 */
import { BraveSearchProvider } from './brave.js';
import type { SearchOptions, SearchProvider, SearchResult } from './provider.js';
import { SearxngProvider } from './searxng.js';
import { errorMessage } from '../../text.js';

export { BraveSearchProvider, BRAVE_API_URL, type BraveOptions } from './brave.js';
export { DEFAULT_SEARCH_TIMEOUT_MS, type SearchOptions, type SearchProvider, type SearchResult } from './provider.js';
export { SearxngProvider, type SearxngOptions } from './searxng.js';
export { DEFAULT_SEARCH_LIMIT, formatResults, MAX_QUERY_CHARS, MAX_SEARCH_LIMIT, webSearchTool } from './tool.js';

export interface SearchSettings {
  /** Base URL of a SearXNG instance with the JSON format enabled, e.g. "http://localhost:8080". */
  searxngUrl?: string;
  /** Brave Search API subscription token. */
  braveApiKey?: string;
  /** Override of the Brave API base URL (tests, proxies). */
  braveBaseUrl?: string;
  /** Per-request deadline (default 10 s). */
  timeoutMs?: number;
}

/**
 * Tries providers in order and answers with the first that works; an empty result is an answer,
 * only failures move on. The error lists every provider's reason.
 */
export class FallbackSearchProvider implements SearchProvider {
  readonly name: string;
  readonly #providers: readonly SearchProvider[];

  constructor(providers: readonly SearchProvider[]) {
    if (providers.length === 0) throw new Error('FallbackSearchProvider needs at least one provider');
    this.#providers = providers;
    this.name = providers.map((p) => p.name).join('+');
  }

  async search(query: string, options: SearchOptions): Promise<SearchResult[]> {
    const reasons: string[] = [];
    for (const provider of this.#providers) {
      try {
        return await provider.search(query, options);
      } catch (err) {
        options.signal.throwIfAborted();
        reasons.push(errorMessage(err));
      }
    }
    throw new Error(reasons.length === 1 ? (reasons[0] ?? 'search failed') : `every search provider failed: ${reasons.join('; ')}`);
  }
}

function given(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

/**
 * The configured provider, or null when none is. SearXNG comes first when both are set (it is
 * self-hosted and free); Brave then serves as the fallback. Throws on an invalid SearXNG URL.
 */
export function searchProviderFrom(settings: SearchSettings): SearchProvider | null {
  const providers: SearchProvider[] = [];
  const searxngUrl = given(settings.searxngUrl);
  const braveApiKey = given(settings.braveApiKey);
  if (searxngUrl !== undefined) providers.push(new SearxngProvider(searxngUrl, { timeoutMs: settings.timeoutMs }));
  if (braveApiKey !== undefined) {
    providers.push(new BraveSearchProvider(braveApiKey, { baseUrl: given(settings.braveBaseUrl), timeoutMs: settings.timeoutMs }));
  }
  if (providers.length === 0) return null;
  return providers.length === 1 ? (providers[0] ?? null) : new FallbackSearchProvider(providers);
}
