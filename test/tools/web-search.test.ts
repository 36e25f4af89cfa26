import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ToolRegistry } from '../../src/tools/registry.js';
import { BraveSearchProvider, searchProviderFrom, SearxngProvider, webSearchTool, type SearchProvider } from '../../src/tools/search/index.js';
import type { ToolOutcome } from '../../src/tools/types.js';
import { searxngBody, startFakeSearxng, type FakeSearxng } from '../fakes/searxng-server.js';
import { toolCall, toolContext } from './helpers.js';

let fake: FakeSearxng;
beforeAll(async () => {
  fake = await startFakeSearxng();
});
beforeEach(() => {
  fake.reset();
});
afterAll(async () => {
  await fake.close();
});

function search(provider: SearchProvider, args: unknown, signal?: AbortSignal): Promise<ToolOutcome> {
  const registry = new ToolRegistry([webSearchTool(provider)]);
  return registry.run(toolCall('web_search', args), toolContext('/nonexistent', signal === undefined ? {} : { signal }));
}

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  return port;
}

describe('searchProviderFrom', () => {
  it('returns null when nothing is configured, so web_search is not offered', () => {
    expect(searchProviderFrom({})).toBeNull();
    expect(searchProviderFrom({ searxngUrl: '  ', braveApiKey: '' })).toBeNull();
  });

  it('picks the configured provider, SearXNG first with Brave as the fallback', () => {
    expect(searchProviderFrom({ searxngUrl: 'http://localhost:8080' })?.name).toBe('searxng');
    expect(searchProviderFrom({ braveApiKey: 'key' })?.name).toBe('brave');
    expect(searchProviderFrom({ searxngUrl: 'http://localhost:8080', braveApiKey: 'key' })?.name).toBe('searxng+brave');
  });

  it('rejects a SearXNG URL that is not http(s)', () => {
    expect(() => searchProviderFrom({ searxngUrl: 'not a url' })).toThrow(/not a valid URL/);
    expect(() => searchProviderFrom({ searxngUrl: 'ftp://host' })).toThrow(/http:\/\/ or https:\/\//);
  });
});

describe('web_search on SearXNG', () => {
  it('offers a query and an optional limit to the model', () => {
    const [spec] = new ToolRegistry([webSearchTool(new SearxngProvider(fake.url))]).specs();
    expect(spec?.name).toBe('web_search');
    expect(spec?.parameters).toMatchObject({ required: ['query'], properties: { limit: { maximum: 10, minimum: 1 } } });
  });

  it('returns numbered results with title, URL and a cleaned snippet', async () => {
    const outcome = await search(new SearxngProvider(fake.url), { query: 'cairn bot' });
    expect(outcome.ok).toBe(true);
    expect(outcome.content).toBe(
      [
        '1. cairn bot — official site — https://example.com/one',
        '   All about cairn bot.',
        '2. Second result — https://example.org/two',
        '   More & more text.',
        '3. Third result — https://example.net/three',
      ].join('\n'),
    );
    expect(fake.requests[0]?.path).toBe('/search');
    expect(fake.requests[0]?.query.get('q')).toBe('cairn bot');
    expect(fake.requests[0]?.query.get('format')).toBe('json');
  });

  it('honours the limit and drops duplicate URLs and malformed entries', async () => {
    fake.respond(() => ({
      json: searxngBody([
        { title: 'A', url: 'https://a.example/' },
        { title: 'A again', url: 'https://a.example/' },
        { title: 'Bad', url: 'javascript:alert(1)' },
        { title: 'B', url: 'https://b.example/' },
        { title: 'C', url: 'https://c.example/' },
      ]),
    }));
    const outcome = await search(new SearxngProvider(fake.url), { query: 'x', limit: 2 });
    expect(outcome.content).toBe('1. A — https://a.example/\n2. B — https://b.example/');
  });

  it('rejects bad arguments in the registry without calling the instance', async () => {
    const provider = new SearxngProvider(fake.url);
    const tooMany = await search(provider, { query: 'x', limit: 11 });
    const tooLong = await search(provider, { query: 'q'.repeat(401) });
    const blank = await search(provider, { query: '   ' });
    expect([tooMany, tooLong, blank].map((o) => o.error?.kind)).toEqual(['invalid_arguments', 'invalid_arguments', 'invalid_arguments']);
    expect(tooLong.content).toMatch(/longer than 400 characters/);
    expect(fake.requests).toHaveLength(0);
  });

  it('says "no results" instead of failing when nothing matched', async () => {
    fake.respond(() => ({ json: searxngBody([]) }));
    const outcome = await search(new SearxngProvider(fake.url), { query: 'zzzz qqqq' });
    expect(outcome).toMatchObject({ ok: true, content: 'No results for "zzzz qqqq". Try other or fewer keywords.' });
  });

  it('explains an empty answer caused by failing engines', async () => {
    fake.respond(() => ({ json: searxngBody([], [['google', 'timeout'], ['bing', 'CAPTCHA']]) }));
    const outcome = await search(new SearxngProvider(fake.url), { query: 'x' });
    expect(outcome.ok).toBe(false);
    expect(outcome.content).toMatch(/engines failed: google \(timeout\), bing \(CAPTCHA\)/);
  });

  it('explains a 403: the instance must enable the json format', async () => {
    fake.respond(() => ({ status: 403, body: '<h1>Forbidden</h1>', contentType: 'text/html' }));
    const outcome = await search(new SearxngProvider(fake.url), { query: 'x' });
    expect(outcome.error?.kind).toBe('tool_error');
    expect(outcome.content).toMatch(/refused format=json \(HTTP 403\).*"json" under search\.formats in settings\.yml/);
  });

  it('reports other HTTP errors with their status, and bodies that are not JSON', async () => {
    fake.respond(() => ({ status: 502, body: 'upstream exploded', contentType: 'text/plain' }));
    expect((await search(new SearxngProvider(fake.url), { query: 'x' })).content).toMatch(/SearXNG answered HTTP 502 Bad Gateway: upstream exploded/);
    fake.respond(() => ({ body: '<html>not json</html>', contentType: 'text/html' }));
    expect((await search(new SearxngProvider(fake.url), { query: 'x' })).content).toMatch(/not JSON \(<html>not json<\/html>\)/);
    fake.respond(() => ({ json: { hello: 'world' } }));
    expect((await search(new SearxngProvider(fake.url), { query: 'x' })).content).toMatch(/without a "results" list/);
  });

  it('reports a server that is down', async () => {
    const port = await closedPort();
    const outcome = await search(new SearxngProvider(`http://127.0.0.1:${port}`), { query: 'x' });
    expect(outcome.content).toContain(`cannot reach SearXNG at http://127.0.0.1:${port}: ECONNREFUSED`);
  });

  it('gives up after its timeout and hangs up on the instance', async () => {
    fake.respond(() => ({ delayMs: 5_000, json: searxngBody([]) }));
    const started = Date.now();
    const outcome = await search(new SearxngProvider(fake.url, { timeoutMs: 200 }), { query: 'slow' });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(outcome.content).toMatch(/SearXNG did not answer within 0\.2 s/);
    await expect.poll(() => fake.requests[0]?.abandoned).toBe(true);
  });

  it('stops the request when the run is aborted', async () => {
    fake.respond(() => ({ delayMs: 5_000, json: searxngBody([]) }));
    const controller = new AbortController();
    const pending = search(new SearxngProvider(fake.url), { query: 'x' }, controller.signal);
    await expect.poll(() => fake.requests.length).toBe(1);
    controller.abort();
    expect((await pending).error?.kind).toBe('aborted');
    await expect.poll(() => fake.requests[0]?.abandoned).toBe(true);
  });

  it('supports a sub-path install and credentials in the URL (sent as Basic auth, never shown)', async () => {
    fake.respond(() => ({ json: searxngBody([{ title: 'T', url: 'https://t.example/' }]) }));
    const base = fake.url.replace('http://', 'http://user:s3cret@');
    const outcome = await search(new SearxngProvider(`${base}/searx`), { query: 'x' });
    expect(outcome.ok).toBe(true);
    expect(fake.requests[0]?.path).toBe('/searx/search');
    expect(fake.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('user:s3cret').toString('base64')}`);
  });
});

describe('web_search on Brave Search', () => {
  const braveBody = {
    type: 'search',
    web: { results: [{ title: 'Brave <strong>one</strong>', url: 'https://brave.example/1', description: 'First &quot;hit&quot;' }] },
  };

  it('sends the key and count, and reads web.results', async () => {
    fake.respond(() => ({ json: braveBody }));
    const outcome = await search(new BraveSearchProvider('brave-key', { baseUrl: fake.url }), { query: 'brave q', limit: 3 });
    expect(outcome.content).toBe('1. Brave one — https://brave.example/1\n   First "hit"');
    const request = fake.requests[0];
    expect(request?.path).toBe('/res/v1/web/search');
    expect(request?.headers['x-subscription-token']).toBe('brave-key');
    expect(request?.query.get('count')).toBe('3');
    expect(request?.query.get('q')).toBe('brave q');
  });

  it('treats a missing web section as no results', async () => {
    fake.respond(() => ({ json: { type: 'search', query: { original: 'x' } } }));
    const outcome = await search(new BraveSearchProvider('k', { baseUrl: fake.url }), { query: 'x' });
    expect(outcome.content).toMatch(/^No results for "x"/);
  });

  it('explains a rejected key and a rate limit without echoing the key', async () => {
    fake.respond(() => ({ status: 422, json: { type: 'ErrorResponse', error: { code: 'SUBSCRIPTION_TOKEN_INVALID', detail: 'bad token' } } }));
    const rejected = await search(new BraveSearchProvider('secret-key-123', { baseUrl: fake.url }), { query: 'x' });
    expect(rejected.content).toMatch(/rejected the configured API key \(HTTP 422 SUBSCRIPTION_TOKEN_INVALID\)/);
    expect(rejected.content).not.toContain('secret-key-123');
    fake.respond(() => ({ status: 429, json: {} }));
    expect((await search(new BraveSearchProvider('k', { baseUrl: fake.url }), { query: 'x' })).content).toMatch(/HTTP 429/);
  });
});

describe('fallback between providers', () => {
  it('uses the next provider when the first fails, and lists every reason when all do', async () => {
    fake.respond((request) =>
      request.path === '/search'
        ? { status: 403, body: 'Forbidden', contentType: 'text/html' }
        : { json: { web: { results: [{ title: 'From Brave', url: 'https://b.example/' }] } } },
    );
    const both = searchProviderFrom({ searxngUrl: fake.url, braveApiKey: 'k', braveBaseUrl: fake.url });
    if (both === null) throw new Error('expected a provider');
    expect((await search(both, { query: 'x' })).content).toBe('1. From Brave — https://b.example/');

    fake.respond(() => ({ status: 500, body: '' }));
    const failed = await search(both, { query: 'x' });
    expect(failed.content).toMatch(/every search provider failed: SearXNG answered HTTP 500.*; Brave Search answered HTTP 500/);
  });
});
