/**
 * The web search provider interface, and the HTTP plumbing the providers share: one request with
 * a deadline, HTTP errors and bad JSON turned into messages the model (and the admin) can act on.
 */

export interface SearchResult {
  title: string;
  url: string;
  snippet: string;
}

export interface SearchOptions {
  /** Most results wanted; providers may return fewer. */
  limit: number;
  signal: AbortSignal;
}

export interface SearchProvider {
  /** Short name shown to the model and in logs, e.g. "searxng". */
  readonly name: string;
  /** Resolves to [] when the search worked but found nothing; rejects with a precise Error otherwise. */
  search(query: string, options: SearchOptions): Promise<SearchResult[]>;
}

export const DEFAULT_SEARCH_TIMEOUT_MS = 10_000;
/** Longer snippets cost tokens without helping the model pick a result. */
const MAX_SNIPPET_CHARS = 300;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Plain text from a provider's snippet: tags dropped, common entities decoded, whitespace collapsed. */
export function plainText(text: string, maxChars = MAX_SNIPPET_CHARS): string {
  const clean = text
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, entity: string) => {
      if (entity.startsWith('#')) {
        const code = entity[1] === 'x' || entity[1] === 'X' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
        return Number.isInteger(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      return ENTITIES[entity.toLowerCase()] ?? whole;
    })
    .replace(/\s+/g, ' ')
    .trim();
  return clean.length <= maxChars ? clean : `${clean.slice(0, maxChars - 1).trimEnd()}…`;
}

/** Keeps the first of each URL and at most `limit` results. */
export function dedupe(results: SearchResult[], limit: number): SearchResult[] {
  const seen = new Set<string>();
  const kept: SearchResult[] = [];
  for (const result of results) {
    if (kept.length >= limit) break;
    if (seen.has(result.url)) continue;
    seen.add(result.url);
    kept.push(result);
  }
  return kept;
}

export interface JsonRequest {
  /** Provider name for messages, e.g. "SearXNG". */
  provider: string;
  url: URL;
  headers?: Record<string, string>;
  signal: AbortSignal;
  timeoutMs: number;
  /** A provider-specific explanation for an HTTP error status, or undefined for the generic one. */
  explainStatus?: (status: number, body: string) => string | undefined;
}

function excerpt(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max)}…`;
}

/** The innermost reason of a fetch failure: undici hides ECONNREFUSED and friends in `cause`. */
function networkReason(err: unknown): string {
  let current: unknown = err;
  let reason = 'unknown error';
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    const code = 'code' in current && typeof current.code === 'string' ? current.code : undefined;
    reason = code ?? current.message;
    current = current.cause;
  }
  return reason;
}

/**
 * GETs JSON with a deadline covering the body too. The caller's abort is rethrown as is (the
 * registry reports the cancellation); everything else becomes an Error naming the provider.
 */
export async function getJson(request: JsonRequest): Promise<unknown> {
  const { provider, url, signal, timeoutMs } = request;
  const deadline = AbortSignal.timeout(timeoutMs);
  const combined = AbortSignal.any([signal, deadline]);
  // origin only: a URL may carry credentials or an API key in its query.
  const where = url.origin;
  const failed = (err: unknown): Error => {
    signal.throwIfAborted();
    if (deadline.aborted) return new Error(`${provider} did not answer within ${timeoutMs / 1000} s; try again later`);
    return new Error(`cannot reach ${provider} at ${where}: ${networkReason(err)}`, { cause: err });
  };

  let response: Response;
  let body: string;
  try {
    response = await fetch(url, { headers: { accept: 'application/json', ...request.headers }, signal: combined, redirect: 'follow' });
    body = await response.text();
  } catch (err) {
    throw failed(err);
  }
  if (!response.ok) {
    const explained = request.explainStatus?.(response.status, body);
    const detail = body.trim() === '' ? '' : `: ${excerpt(body)}`;
    throw new Error(explained ?? `${provider} answered HTTP ${response.status} ${response.statusText}${detail}`);
  }
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new Error(`${provider} returned a response that is not JSON (${excerpt(body, 80) || 'empty body'})`);
  }
}
