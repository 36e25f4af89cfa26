/**
 * SearXNG (https://docs.searxng.org/dev/search_api.html): a self-hosted metasearch engine. The
 * instance is configured by the admin and trusted, so a local or private URL is fine here.
 */
import { z } from 'zod';
import { dedupe, DEFAULT_SEARCH_TIMEOUT_MS, getJson, plainText, type SearchOptions, type SearchProvider, type SearchResult } from './provider.js';

const ResponseSchema = z.looseObject({
  results: z.array(z.unknown()),
  // Pairs of [engine, reason]; only used to explain an empty result list.
  unresponsive_engines: z.array(z.unknown()).optional(),
});

const ResultSchema = z.looseObject({
  url: z.url({ protocol: /^https?$/ }),
  title: z.string().nullish(),
  content: z.string().nullish(),
});

export interface SearxngOptions {
  timeoutMs?: number;
}

/** Parses the base URL, moving user:password (which fetch refuses in a URL) into a Basic auth header. */
function parseBase(base: string): { url: URL; headers: Record<string, string> } {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new Error(`the SearXNG URL ${JSON.stringify(base)} is not a valid URL (expected e.g. "http://localhost:8080")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`the SearXNG URL must be http:// or https://, got ${url.protocol}`);
  const headers: Record<string, string> = {};
  if (url.username !== '' || url.password !== '') {
    const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  // A trailing slash so "search" resolves under a sub-path install (https://host/searx/).
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  url.search = '';
  url.hash = '';
  return { url, headers };
}

function explainStatus(status: number): string | undefined {
  if (status === 403) {
    return 'the SearXNG instance refused format=json (HTTP 403): its admin must enable the JSON format by adding "json" under search.formats in settings.yml';
  }
  if (status === 429) {
    return 'the SearXNG instance rate-limited the request (HTTP 429): its bot limiter is on; its admin can set server.limiter to false or allow this host';
  }
  return undefined;
}

function unresponsive(engines: unknown[] | undefined): string {
  const names = (engines ?? []).flatMap((entry) => {
    if (!Array.isArray(entry)) return [];
    const [engine, reason] = entry as unknown[];
    return typeof engine === 'string' ? [typeof reason === 'string' ? `${engine} (${reason})` : engine] : [];
  });
  return names.join(', ');
}

export class SearxngProvider implements SearchProvider {
  readonly name = 'searxng';
  readonly #base: URL;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;

  constructor(baseUrl: string, options: SearxngOptions = {}) {
    const { url, headers } = parseBase(baseUrl);
    this.#base = url;
    this.#headers = headers;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_SEARCH_TIMEOUT_MS;
  }

  async search(query: string, options: SearchOptions): Promise<SearchResult[]> {
    const url = new URL('search', this.#base);
    url.searchParams.set('q', query);
    url.searchParams.set('format', 'json');
    const json = await getJson({
      provider: 'SearXNG',
      url,
      headers: this.#headers,
      signal: options.signal,
      timeoutMs: this.#timeoutMs,
      explainStatus,
    });
    const parsed = ResponseSchema.safeParse(json);
    if (!parsed.success) throw new Error('SearXNG returned JSON without a "results" list; is the URL a SearXNG instance?');

    // One malformed entry should not cost the others.
    const results = parsed.data.results.flatMap((item): SearchResult[] => {
      const result = ResultSchema.safeParse(item);
      if (!result.success) return [];
      const { url: link, title, content } = result.data;
      return [{ title: plainText(title ?? '', 200) || link, url: link, snippet: plainText(content ?? '') }];
    });
    if (results.length === 0) {
      const failing = unresponsive(parsed.data.unresponsive_engines);
      // Every engine failing is an outage, not an empty answer: say so rather than "no results".
      if (failing !== '') throw new Error(`SearXNG returned no results because its engines failed: ${failing}; try again later`);
    }
    return dedupe(results, options.limit);
  }
}
