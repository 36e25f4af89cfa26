import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ToolRegistry } from '../../src/tools/registry.js';
import { renderBody } from '../../src/tools/web/readable.js';
import type { ToolOutcome } from '../../src/tools/types.js';
import { httpTools, httpToolsWithTransport, resolveHttpOptions, type HttpToolOptions } from '../../src/tools/web/http.js';
import { fakeTransport, redirect, reply, startFakeWebServer, type FakeWebServer, type RecordingTransport } from '../fakes/web-server.js';
import { toolCall, toolContext } from './helpers.js';

let server: FakeWebServer;
let transport: RecordingTransport;
let fake: ToolRegistry;

function registryWith(options: Partial<HttpToolOptions> = {}): ToolRegistry {
  return new ToolRegistry(httpToolsWithTransport(options, transport), { maxOutputChars: 50_000 });
}

function get(url: string, extra: Record<string, unknown> = {}, registry = fake): Promise<ToolOutcome> {
  return registry.run(toolCall('http_get', { url, ...extra }), toolContext('/nonexistent-workspace'));
}

function request(args: Record<string, unknown>, registry = fake): Promise<ToolOutcome> {
  return registry.run(toolCall('http_request', args), toolContext('/nonexistent-workspace'));
}

const PAGE = `<!doctype html><html><head><title>Example Domain</title><script>var secret = 1;</script>
<style>p { color: red }</style></head><body><h1>Welcome</h1><p>See <a href="/docs/intro">the docs</a> and
<a href="javascript:void(0)">nothing</a>.</p><img src="/logo.png" alt="logo"></body></html>`;

beforeAll(async () => {
  server = await startFakeWebServer();
  transport = fakeTransport(server);
  fake = registryWith();
  server.route('/page', reply(200, { 'content-type': 'text/html; charset=utf-8' }, PAGE));
  server.route('/data', reply(200, { 'content-type': 'application/json' }, '{"items":[1,2],"ok":true}'));
  server.route('/broken-json', reply(200, { 'content-type': 'application/json' }, '{"items": [1,'));
  server.route('/plain', reply(200, { 'content-type': 'text/plain' }, 'just text\n  indented'));
  server.route('/image', reply(200, { 'content-type': 'image/png' }, Buffer.alloc(3000, 1)));
  server.route('/latin1', reply(200, { 'content-type': 'text/plain; charset=iso-8859-1' }, Buffer.from('café', 'latin1')));
  server.route('/gzip', reply(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' }, Buffer.alloc(10)));
  server.route('/missing', reply(404, { 'content-type': 'text/plain' }, 'not here'));
  server.route('/big', reply(200, { 'content-type': 'text/plain' }, 'x'.repeat(300 * 1024)));
  server.route('/hang', () => undefined);
  server.route('/echo', (req, res, body) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, host: req.headers.host, body }));
  });
  server.route('/to-other', redirect('http://other.test/echo'));
  server.route('/to-same', redirect('/echo', 301));
  server.route('/see-other', redirect('/echo', 303));
  server.route('/temporary', redirect('/echo', 307));
  server.route('/loop', redirect('/loop'));
});

afterAll(async () => {
  await server.close();
});

afterEach(() => {
  server.requests.length = 0;
  transport.dialed.length = 0;
  transport.resolved.length = 0;
});

describe('http_get on a permitted address', () => {
  it('fetches HTML as readable text through the checked address', async () => {
    const outcome = await get('http://example.test/page');
    expect(outcome.ok).toBe(true);
    expect(outcome.content).toMatch(/^HTTP 200 OK\nContent-Type: text\/html; charset=utf-8\n\nExample Domain\n\nWelcome\n/);
    expect(outcome.content).toContain('See the docs [http://example.test/docs/intro] and nothing.');
    expect(outcome.content).not.toMatch(/secret|color|logo|javascript/);
    expect(transport.dialed).toEqual(['93.184.216.34:80']);
    expect(server.requests[0]?.headers).toMatchObject({ host: 'example.test', 'accept-encoding': 'identity' });
  });

  it('renders JSON, text, binary and error statuses', async () => {
    expect((await get('http://example.test/data')).content).toContain('\n\n{\n  "items": [\n    1,\n    2\n  ],\n  "ok": true\n}');
    expect((await get('http://example.test/broken-json')).content).toMatch(/\(the body is not valid JSON: .*; raw text follows\)\n\{"items": \[1,$/);
    expect((await get('http://example.test/plain')).content).toMatch(/\n\njust text\n {2}indented$/);
    expect((await get('http://example.test/image')).content).toMatch(/\n\n\(binary body: image\/png, 2\.9 KB; not shown\)$/);
    expect((await get('http://example.test/latin1')).content).toMatch(/\n\ncafé$/);
    expect((await get('http://example.test/gzip')).content).toMatch(/\(the body is gzip-encoded, which http tools do not decode; 10 bytes not shown\)$/);
    const missing = await get('http://example.test/missing');
    expect(missing.ok).toBe(true);
    expect(missing.content).toMatch(/^HTTP 404 Not Found\n[\s\S]*not here$/);
  });

  it('connects to an allowed IPv6 address and passes custom headers', async () => {
    const outcome = await get('http://v6.test/echo', { headers: { 'X-Trace': 'abc', Accept: 'application/json' } });
    expect(outcome.content).toContain('"host": "v6.test"');
    expect(server.requests[0]?.headers).toMatchObject({ 'x-trace': 'abc', accept: 'application/json' });
  });

  it('fetches a permitted IP literal on any port', async () => {
    const outcome = await get('http://93.184.216.34:8443/plain');
    expect(outcome.content).toContain('just text');
    expect(transport.dialed).toEqual(['93.184.216.34:8443']);
    expect(server.requests[0]?.headers.host).toBe('93.184.216.34:8443');
  });
});

describe('redirects', () => {
  it('follows a permitted redirect and reports the final URL', async () => {
    const outcome = await get('http://example.test/to-other', { headers: { Authorization: 'Bearer t', Cookie: 'a=1', 'X-Api-Key': 'k', 'Accept-Language': 'nb' } });
    expect(outcome.content).toMatch(/^HTTP 200 OK\nFinal URL: http:\/\/other\.test\/echo \(after 1 redirect\)\n/);
    expect(transport.dialed).toEqual(['93.184.216.34:80', '93.184.216.35:80']);
    // Credentials, by any name, stay with their origin; only plain content headers follow.
    expect(server.requests[1]?.headers.authorization).toBeUndefined();
    expect(server.requests[1]?.headers.cookie).toBeUndefined();
    expect(server.requests[1]?.headers['x-api-key']).toBeUndefined();
    expect(server.requests[1]?.headers['accept-language']).toBe('nb');
  });

  it('keeps credentials on a same-origin redirect', async () => {
    await get('http://example.test/to-same', { headers: { Authorization: 'Bearer t' } });
    expect(server.requests.map((r) => [r.path, r.headers.authorization])).toEqual([
      ['/to-same', 'Bearer t'],
      ['/echo', 'Bearer t'],
    ]);
  });

  it('turns a POST into a GET on 303 and keeps it on 307', async () => {
    const seeOther = await request({ method: 'POST', url: 'http://example.test/see-other', json: { a: 1 } });
    expect(seeOther.content).toContain('"method": "GET"');
    expect(server.requests[1]).toMatchObject({ method: 'GET', body: '' });
    expect(server.requests[1]?.headers['content-type']).toBeUndefined();
    const temporary = await request({ method: 'POST', url: 'http://example.test/temporary', body: 'hello' });
    expect(temporary.content).toContain('"method": "POST"');
    expect(temporary.content).toContain('"body": "hello"');
  });

  it('stops after the redirect limit', async () => {
    const outcome = await get('http://example.test/loop');
    expect(outcome.content).toBe('Error: http_get failed: Stopped after 5 redirects; the last pointed to http://example.test/loop.');
    expect(server.requests).toHaveLength(6);
  });
});

describe('allowed domains', () => {
  it('allows the domain and its subdomains on every hop', async () => {
    const limited = registryWith({ allowedDomains: ['example.test'] });
    expect((await get('http://sub.example.test/plain', {}, limited)).content).toContain('just text');
    const other = await get('http://other.test/plain', {}, limited);
    expect(other.content).toBe('Error: http_get failed: Refused: other.test is not in the allowed domains (example.test).');
    const redirected = await get('http://example.test/to-other', {}, limited);
    expect(redirected.content).toBe(
      'Error: http_get failed: Refused: redirect to http://other.test/echo — other.test is not in the allowed domains (example.test).',
    );
    expect(transport.resolved).not.toContain('other.test');
  });
});

describe('limits', () => {
  it('cuts a long body and says so', async () => {
    const outcome = await get('http://example.test/big', {}, registryWith({ maxResponseBytes: 64 * 1024 }));
    expect(outcome.content).toContain('x'.repeat(1000));
    expect(outcome.content).toMatch(/\n\n\[Body cut at 64 KB: the response is longer and the rest was not downloaded\.\]$/);
    expect(outcome.content.length).toBeLessThan(64 * 1024 + 300);
  });

  it('times out and closes the connection', async () => {
    const abandoned = server.abandoned('/hang');
    const started = performance.now();
    const outcome = await get('http://example.test/hang', {}, registryWith({ timeoutMs: 300 }));
    expect(outcome.content).toBe('Error: http_get failed: Timed out after 0.3 s waiting for example.test.');
    expect(performance.now() - started).toBeLessThan(2000);
    await abandoned;
  });

  it('stops the request when the run is aborted', async () => {
    const abandoned = server.abandoned('/hang');
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort();
    }, 100);
    const outcome = await fake.run(toolCall('http_get', { url: 'http://example.test/hang' }), toolContext('/x', { signal: controller.signal }));
    expect(outcome.error?.kind).toBe('aborted');
    await abandoned;
  });

  it('ignores proxy settings in the environment', async () => {
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, http_proxy: process.env.http_proxy };
    process.env.HTTP_PROXY = process.env.http_proxy = 'http://10.9.9.9:3128';
    try {
      expect((await get('http://example.test/plain')).content).toContain('just text');
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) Reflect.deleteProperty(process.env, name);
        else process.env[name] = value;
      }
    }
  });
});

describe('arguments', () => {
  it.each([
    [{ url: 'example.test/page' }, '"example.test/page" is not a valid URL'],
    [{ url: 'http://user:pw@example.test/' }, 'URLs with credentials (user:password@host) are refused'],
    [{ url: 'http://nowhere.test/' }, 'Could not resolve nowhere.test (ENOTFOUND); check the host name.'],
  ])('explains a bad URL: %j', async (args, message) => {
    const outcome = await get(args.url);
    expect(outcome.content).toContain(message);
    expect(server.requests).toEqual([]);
  });

  it.each([
    [{ Host: 'internal' }, 'header "Host" cannot be set: the client manages it'],
    [{ 'Transfer-Encoding': 'chunked' }, 'header "Transfer-Encoding" cannot be set'],
    [{ 'X-A': 'a\r\nInjected: 1' }, 'header "X-A" has a line break or NUL in its value'],
    [{ 'Bad Name': 'x' }, 'header "Bad Name" is not a valid header name'],
  ])('refuses the headers %j', async (headers, message) => {
    const outcome = await get('http://example.test/page', { headers });
    expect(outcome.error?.kind).toBe('invalid_arguments');
    expect(outcome.content).toContain(message);
  });
});

describe('http_request', () => {
  it('sends JSON and text bodies', async () => {
    const json = await request({ method: 'PUT', url: 'http://example.test/echo', json: { name: 'cairn' } });
    expect(json.content).toContain('"method": "PUT"');
    expect(server.requests[0]).toMatchObject({ body: '{"name":"cairn"}', headers: { 'content-type': 'application/json', 'content-length': '16' } });
    await request({ method: 'POST', url: 'http://example.test/echo', body: 'a=1', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(server.requests[1]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    // Models fill unused optional fields with null.
    await request({ method: 'POST', url: 'http://example.test/echo', body: 'plain', json: null });
    expect(server.requests[2]).toMatchObject({ body: 'plain', headers: { 'content-type': 'text/plain; charset=utf-8' } });
    await request({ method: 'DELETE', url: 'http://example.test/echo' });
    expect(server.requests[3]?.method).toBe('DELETE');
  });

  it('shows headers for HEAD', async () => {
    const outcome = await request({ method: 'HEAD', url: 'http://example.test/data' });
    expect(outcome.content).toMatch(/^HTTP 200 OK\nContent-Type: application\/json\n\n[\s\S]*content-type: application\/json/);
  });

  it.each([
    ['a GET request cannot carry a body', { method: 'GET', url: 'http://example.test/echo', body: 'x' }],
    ['give either body or json, not both', { method: 'POST', url: 'http://example.test/echo', body: 'x', json: 1 }],
    ['the body is 101 KB, over the 100 KB limit', { method: 'POST', url: 'http://example.test/echo', body: 'x'.repeat(101 * 1024) }],
    ['Refused: 10.0.0.1 is a private address (http_request only reaches public addresses).', { method: 'POST', url: 'http://10.0.0.1/', body: 'x' }],
  ])('refuses: %s', async (message, args) => {
    const outcome = await request(args);
    expect(outcome.ok).toBe(false);
    expect(outcome.content).toContain(message);
    expect(server.requests).toEqual([]);
  });

  it('declares the risk levels', () => {
    expect(httpTools().map((tool) => [tool.name, tool.risk])).toEqual([
      ['http_get', 'low'],
      ['http_request', 'high'],
    ]);
  });
});

/** A throwaway certificate for example.test; undefined where openssl is missing. */
function selfSignedCertificate(): { key: Buffer; cert: Buffer } | undefined {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-tls-'));
  const [key, cert] = [path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')];
  try {
    const subject = ['-subj', '/CN=example.test', '-addext', 'subjectAltName=DNS:example.test'];
    const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', ...subject];
    execFileSync('openssl', [...args, '-keyout', key, '-out', cert], { stdio: 'ignore' });
    return { key: readFileSync(key), cert: readFileSync(cert) };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('https', () => {
  const pair = selfSignedCertificate();

  it.skipIf(pair === undefined)('sends the host name for SNI and verifies the certificate, while dialing the checked address', async () => {
    if (pair === undefined) return;
    const names: string[] = [];
    const secure = createTlsServer({ ...pair, SNICallback: (name, done) => { names.push(name); done(null, createSecureContext(pair)); } }, (_req, res) => {
      res.end('secret');
    });
    await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
    const { port } = secure.address() as AddressInfo;
    try {
      const tlsTransport = { ...transport, dial: () => ({ host: '127.0.0.1', port }) };
      const outcome = await get('https://example.test/', {}, new ToolRegistry(httpToolsWithTransport({}, tlsTransport)));
      // Self-signed, so refused: proof that verification is on and checks the name.
      expect(outcome.content).toBe('Error: http_get failed: TLS error from example.test: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT).');
      expect(names).toEqual(['example.test']);
    } finally {
      secure.close();
    }
  });
});

describe('options', () => {
  it('fills defaults and rejects mistakes', () => {
    expect(resolveHttpOptions({ allowedDomains: ['*.Example.com'] })).toEqual({
      allowedDomains: ['example.com'],
      timeoutMs: 15_000,
      maxResponseBytes: 2 * 1024 * 1024,
      maxRedirects: 5,
      maxRequestBodyBytes: 100 * 1024,
    });
    expect(() => resolveHttpOptions({ timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => resolveHttpOptions({ allowedDomains: ['example.com/x'] })).toThrow(/invalid allowed domain/);
  });
});

describe('large pages', () => {
  it('converts only the first 256 KB of HTML, and says so', () => {
    // 2 MB of nested tags took about a minute to convert on the main thread before the cap.
    const html = `<p>Start of the page</p>${'<div>'.repeat(100_000)}x${'</div>'.repeat(100_000)}`;
    const rendered = renderBody(Buffer.from(html), 'text/html', 'https://example.test/', false);
    expect(rendered.text).toContain('Start of the page');
    expect(rendered.text).toMatch(/\[only the first 256 KB of the page's \d+ KB of HTML were read\]$/);
  });
});
