/**
 * Brave Search API (https://api-dashboard.search.brave.com/app/documentation/web-search):
 * GET /res/v1/web/search with the key in X-Subscription-Token; web.results[].{title,url,description}.
 */
import { z } from 'zod';
import { dedupe, DEFAULT_SEARCH_TIMEOUT_MS, getJson, plainText, type SearchOptions, type SearchProvider, type SearchResult } from './provider.js';

export const BRAVE_API_URL = 'https://api.search.brave.com';

const ResponseSchema = z.looseObject({
  // Absent when nothing matched.
  web: z.looseObject({ results: z.array(z.unknown()) }).optional(),
});

const ResultSchema = z.looseObject({
  url: z.url({ protocol: /^https?$/ }),
  title: z.string().nullish(),
  description: z.string().nullish(),
});

/** Brave's error body: {"type":"ErrorResponse","error":{"code":"SUBSCRIPTION_TOKEN_INVALID","detail":"…"}}. */
const ErrorSchema = z.looseObject({
  error: z.looseObject({ code: z.string().optional(), detail: z.string().optional() }),
});

export interface BraveOptions {
  /** Override for tests or a proxy (default https://api.search.brave.com). */
  baseUrl?: string;
  timeoutMs?: number;
}

function errorCode(body: string): { code: string; detail: string } {
  try {
    const parsed = ErrorSchema.safeParse(JSON.parse(body));
    if (parsed.success) return { code: parsed.data.error.code ?? '', detail: parsed.data.error.detail ?? '' };
  } catch {
    // Not JSON: fall through to the status alone.
  }
  return { code: '', detail: '' };
}

function explainStatus(status: number, body: string): string | undefined {
  const { code, detail } = errorCode(body);
  if (status === 401 || status === 403 || code.startsWith('SUBSCRIPTION_TOKEN')) {
    return `Brave Search rejected the configured API key (HTTP ${status}${code === '' ? '' : ` ${code}`}); the bot's admin must set a valid key`;
  }
  if (status === 429) return 'Brave Search rate limit or monthly quota reached (HTTP 429); wait a moment and try again';
  if (status === 422) return `Brave Search refused the query (HTTP 422${detail === '' ? '' : `: ${detail}`}); shorten or simplify it`;
  return undefined;
}

export class BraveSearchProvider implements SearchProvider {
  readonly name = 'brave';
  readonly #apiKey: string;
  readonly #endpoint: URL;
  readonly #timeoutMs: number;

  constructor(apiKey: string, options: BraveOptions = {}) {
    if (apiKey.trim() === '') throw new Error('the Brave Search API key is empty');
    this.#apiKey = apiKey.trim();
    this.#endpoint = new URL('/res/v1/web/search', options.baseUrl ?? BRAVE_API_URL);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_SEARCH_TIMEOUT_MS;
  }

  async search(query: string, options: SearchOptions): Promise<SearchResult[]> {
    const url = new URL(this.#endpoint);
    url.searchParams.set('q', query);
    url.searchParams.set('count', String(options.limit));
    // Plain snippets instead of <strong> highlighting; only web results (no news/video blocks).
    url.searchParams.set('text_decorations', '0');
    url.searchParams.set('result_filter', 'web');
    const json = await getJson({
      provider: 'Brave Search',
      url,
      headers: { 'x-subscription-token': this.#apiKey },
      signal: options.signal,
      timeoutMs: this.#timeoutMs,
      explainStatus,
    });
    const parsed = ResponseSchema.safeParse(json);
    if (!parsed.success) throw new Error('Brave Search returned JSON in an unexpected shape (no "web" object)');
    const results = (parsed.data.web?.results ?? []).flatMap((item): SearchResult[] => {
      const result = ResultSchema.safeParse(item);
      if (!result.success) return [];
      const { url: link, title, description } = result.data;
      return [{ title: plainText(title ?? '', 200) || link, url: link, snippet: plainText(description ?? '') }];
    });
    return dedupe(results, options.limit);
  }
}
