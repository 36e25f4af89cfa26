/**
 * A fake SearXNG instance on 127.0.0.1 for the web_search tests. By default it answers
 * /search?format=json like SearXNG does; tests replace the reply to script errors, delays and
 * other providers' JSON (the Brave tests reuse it with their own handler).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSearchRequest {
  path: string;
  query: URLSearchParams;
  /** Lower-case header names, as node:http delivers them. */
  headers: Record<string, string>;
  /** True when the client hung up before the reply was sent (an abort or a timeout). */
  abandoned: boolean;
}

export interface FakeSearchReply {
  status?: number;
  /** Sent as JSON; `body` wins when both are given. */
  json?: unknown;
  body?: string;
  contentType?: string;
  /** Wait this long before replying (to trigger client timeouts). */
  delayMs?: number;
}

export interface FakeSearxng {
  /** Base URL, e.g. http://127.0.0.1:40123 (no trailing slash). */
  url: string;
  requests: FakeSearchRequest[];
  /** Replaces the reply for every following request; `reset()` restores SearXNG behaviour. */
  respond(handler: (request: FakeSearchRequest) => FakeSearchReply): void;
  reset(): void;
  close(): Promise<void>;
}

export interface FakeSearxngResult {
  title: string;
  url: string;
  content?: string;
}

/** A SearXNG JSON body (the fields the provider reads, plus some it ignores). */
export function searxngBody(results: FakeSearxngResult[], unresponsive: [string, string][] = []): unknown {
  return {
    query: 'q',
    number_of_results: 0,
    results: results.map((r, i) => ({ ...r, engine: 'fake', engines: ['fake'], score: 1 / (i + 1), category: 'general' })),
    answers: [],
    suggestions: [],
    unresponsive_engines: unresponsive,
  };
}

/** Three results derived from the query, so tests can see the query arrived. */
export function defaultResults(query: string): FakeSearxngResult[] {
  return [
    { title: `${query} — official site`, url: 'https://example.com/one', content: `All about ${query}.` },
    { title: 'Second result', url: 'https://example.org/two', content: 'More &amp; <b>more</b>   text.' },
    { title: 'Third result', url: 'https://example.net/three' },
  ];
}

function searxngReply(request: FakeSearchRequest): FakeSearchReply {
  if (request.path !== '/search' && request.path !== '/') return { status: 404, body: 'Not Found', contentType: 'text/html' };
  // Real SearXNG refuses formats not listed in settings.yml with a bare 403.
  if (request.query.get('format') !== 'json') return { status: 403, body: '<h1>Forbidden</h1>', contentType: 'text/html' };
  return { json: searxngBody(defaultResults(request.query.get('q') ?? '')) };
}

export async function startFakeSearxng(): Promise<FakeSearxng> {
  const requests: FakeSearchRequest[] = [];
  let handler = searxngReply;
  const timers = new Set<NodeJS.Timeout>();

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const parsed = new URL(req.url ?? '/', 'http://fake');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name] = value;
    const request: FakeSearchRequest = { path: parsed.pathname, query: parsed.searchParams, headers, abandoned: false };
    requests.push(request);
    res.on('close', () => {
      if (!res.writableEnded) request.abandoned = true;
    });
    const reply = handler(request);
    const send = (): void => {
      if (res.destroyed) return;
      const body = reply.body ?? (reply.json === undefined ? '' : JSON.stringify(reply.json));
      res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'application/json' });
      res.end(body);
    };
    if (reply.delayMs === undefined) {
      send();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      send();
    }, reply.delayMs);
    timers.add(timer);
  }

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    respond(next) {
      handler = next;
    },
    reset() {
      handler = searxngReply;
      requests.length = 0;
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      // Ends delayed replies instead of waiting for them.
      server.closeAllConnections();
      return new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}
