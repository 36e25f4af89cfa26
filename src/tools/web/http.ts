/**
 * http_get and http_request: the model's way onto the public web. The address policy, limits and
 * redirect handling live in fetch.ts; this file declares the tools and phrases their output.
 */
import { z } from 'zod';
import { formatBytes } from '../builtin/files.js';
import { defineTool } from '../define.js';
import type { Tool, ToolContext } from '../types.js';
import { guardedFetch, systemTransport, type FetchLimits, type FetchResponse, type Transport } from './fetch.js';
import { renderBody } from './readable.js';
import { normaliseAllowedDomains } from './ssrf.js';

export interface HttpToolOptions {
  /** Hosts the tools may reach, each with its subdomains; empty allows every public host. */
  allowedDomains: string[];
  /** For the whole call: DNS, connects, every redirect hop and the body. */
  timeoutMs: number;
  /** Longer bodies are cut here (and the rest is not downloaded). */
  maxResponseBytes: number;
  maxRedirects: number;
  /** Largest body http_request will send. */
  maxRequestBodyBytes: number;
}

export const DEFAULT_HTTP_OPTIONS: HttpToolOptions = {
  allowedDomains: [],
  timeoutMs: 15_000,
  maxResponseBytes: 2 * 1024 * 1024,
  maxRedirects: 5,
  maxRequestBodyBytes: 100 * 1024,
};

// Strict: an unknown key (a misspelt limit, or an attempt to pass a transport) is an error.
const optionsSchema = z.strictObject({
  allowedDomains: z.array(z.string()).optional(),
  timeoutMs: z.number().int().min(100).max(300_000).optional(),
  maxResponseBytes: z.number().int().min(1024).max(100 * 1024 * 1024).optional(),
  maxRedirects: z.number().int().min(0).max(20).optional(),
  maxRequestBodyBytes: z.number().int().min(1).max(10 * 1024 * 1024).optional(),
});

/** Fills in defaults and normalises the allow-list; throws on a configuration mistake. */
export function resolveHttpOptions(options: Partial<HttpToolOptions> = {}): HttpToolOptions {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`invalid http tool options: ${z.prettifyError(parsed.error)}`);
  const given = parsed.data;
  return {
    allowedDomains: normaliseAllowedDomains(given.allowedDomains ?? DEFAULT_HTTP_OPTIONS.allowedDomains),
    timeoutMs: given.timeoutMs ?? DEFAULT_HTTP_OPTIONS.timeoutMs,
    maxResponseBytes: given.maxResponseBytes ?? DEFAULT_HTTP_OPTIONS.maxResponseBytes,
    maxRedirects: given.maxRedirects ?? DEFAULT_HTTP_OPTIONS.maxRedirects,
    maxRequestBodyBytes: given.maxRequestBodyBytes ?? DEFAULT_HTTP_OPTIONS.maxRequestBodyBytes,
  };
}

/** Set by the client (framing, Host, compression) or meaningless without a proxy. */
const MANAGED_HEADERS = new Set([
  'host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer',
  'expect', 'proxy-connection', 'proxy-authorization', 'accept-encoding', 'http2-settings',
]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const MAX_HEADERS = 50;

const headersInput = z
  .record(z.string(), z.string())
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > MAX_HEADERS) ctx.addIssue({ code: 'custom', message: `at most ${MAX_HEADERS} headers` });
    const seen = new Set<string>();
    for (const [name, value] of Object.entries(headers)) {
      const lower = name.toLowerCase();
      let problem: string | undefined;
      if (!TOKEN.test(name)) problem = 'is not a valid header name';
      else if (MANAGED_HEADERS.has(lower)) problem = 'cannot be set: the client manages it';
      else if (seen.has(lower)) problem = 'is given twice (names are case-insensitive)';
      else if (/[\r\n\0]/.test(value)) problem = 'has a line break or NUL in its value';
      else if (value.length > 8192) problem = 'has a value longer than 8192 characters';
      seen.add(lower);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `header ${JSON.stringify(name)} ${problem}`, path: [name] });
    }
  })
  .optional()
  .describe('Extra request headers, e.g. {"Accept": "application/json", "Authorization": "Bearer …"}.');

const urlInput = z.string().min(1).max(8192).describe('Absolute http(s) URL, e.g. "https://example.com/page".');

const DEFAULT_HEADERS: Record<string, string> = {
  'user-agent': 'Mozilla/5.0 (compatible; Cairn/0.1)',
  accept: 'text/html,application/xhtml+xml,application/json;q=0.9,text/*;q=0.8,*/*;q=0.5',
  // Bodies are not decompressed, so ask for none.
  'accept-encoding': 'identity',
};

function parseUrl(raw: string): URL {
  const text = raw.trim();
  const shown = text.length > 120 ? `${text.slice(0, 100)}…` : text;
  if (!URL.canParse(text)) throw new Error(`${JSON.stringify(shown)} is not a valid URL; give an absolute URL such as "https://example.com/page"`);
  const url = new URL(text);
  if (url.username !== '' || url.password !== '') {
    throw new Error('URLs with credentials (user:password@host) are refused; send them in an Authorization header instead');
  }
  url.hash = '';
  return url;
}

function headerValue(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Status, final URL and type first, so the model knows what it is reading before it reads it. */
function describe(response: FetchResponse, method: string, limits: FetchLimits): string {
  const contentType = headerValue(response.headers['content-type']);
  const lines = [`HTTP ${response.status} ${response.statusText}`.trimEnd()];
  if (response.heldRedirect !== undefined) {
    const at = response.redirects > 0 ? ` (at ${response.url.href}, after ${plural(response.redirects, 'redirect')})` : '';
    return [
      ...lines,
      `Redirect not followed${at}: it points to ${response.heldRedirect.href}, on a host that neither the user's goal nor their messages named, and this run has read text from others or the web.`,
      'If you need that page, call the tool again with that URL: the user will be asked first.',
    ].join('\n');
  }
  if (response.redirects > 0) lines.push(`Final URL: ${response.url.href} (after ${plural(response.redirects, 'redirect')})`);
  lines.push(`Content-Type: ${contentType === '' ? '(none)' : contentType}`);
  if (method === 'HEAD') {
    const headers = Object.entries(response.headers).map(([name, value]) => `${name}: ${headerValue(value).slice(0, 300)}`);
    return [...lines, '', ...headers].join('\n');
  }
  const encoding = headerValue(response.headers['content-encoding']).trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') {
    // We ask for identity and do not decompress; a server that compresses anyway gets a note.
    lines.push('', `(the body is ${encoding}-encoded, which http tools do not decode; ${formatBytes(response.body.length)} not shown)`);
    return lines.join('\n');
  }
  const rendered = renderBody(response.body, contentType, response.url.href, response.truncated);
  lines.push('', rendered.text);
  if (response.truncated && rendered.kind !== 'binary') {
    lines.push('', `[Body cut at ${formatBytes(limits.maxResponseBytes)}: the response is longer and the rest was not downloaded.]`);
  }
  return lines.join('\n');
}

function scope(limits: FetchLimits): string {
  const domains = limits.allowedDomains.length === 0 ? '' : ` Only these domains (and their subdomains) are allowed: ${limits.allowedDomains.join(', ')}.`;
  return (
    `Only public internet addresses are reachable (not localhost, private networks or cloud metadata).${domains} ` +
    `Limits: ${limits.timeoutMs / 1000} s, ${formatBytes(limits.maxResponseBytes)} of body, ${plural(limits.maxRedirects, 'redirect')}.`
  );
}

const OUTPUT =
  'Returns the status, final URL and content type, then the body: HTML as readable text with links as [url], JSON pretty-printed, other text as is, binary as a size note.';

/** The body to send and its default type. A JSON null counts as absent: models send it for "none". */
function encodeBody(text: string | undefined, json: unknown): Pick<Call, 'body' | 'contentType'> {
  if (json === undefined || json === null) {
    return text === undefined ? {} : { body: Buffer.from(text, 'utf8'), contentType: 'text/plain; charset=utf-8' };
  }
  if (text !== undefined) throw new Error('give either body or json, not both');
  return { body: Buffer.from(JSON.stringify(json), 'utf8'), contentType: 'application/json' };
}

interface Call {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** The default for a body; a Content-Type header given by the model wins. */
  contentType?: string;
}

/** The production tools; the transport is the system's and cannot be changed from config. */
export function httpTools(options: Partial<HttpToolOptions> = {}): Tool[] {
  return httpToolsWithTransport(options, systemTransport);
}

/** Tests only: the same tools over another transport (e.g. dialing a local fake site). */
export function httpToolsWithTransport(options: Partial<HttpToolOptions>, transport: Transport): Tool[] {
  const settings = resolveHttpOptions(options);
  const limits: FetchLimits = settings;
  const fetchAs = async (tool: string, call: Call, context: ToolContext): Promise<string> => {
    const headers: Record<string, string> = { ...DEFAULT_HEADERS };
    if (call.contentType !== undefined) headers['content-type'] = call.contentType;
    for (const [name, value] of Object.entries(call.headers ?? {})) headers[name.toLowerCase()] = value;
    // Without a body, POST/PUT/PATCH still need a length, or some servers wait for one.
    const body = call.body ?? (['POST', 'PUT', 'PATCH'].includes(call.method) ? Buffer.alloc(0) : undefined);
    const mayRedirectTo = context.mayReach;
    const request = { tool, method: call.method, url: parseUrl(call.url), headers, body, ...(mayRedirectTo === undefined ? {} : { mayRedirectTo }) };
    const response = await guardedFetch(request, limits, transport, context.signal);
    return describe(response, call.method, limits);
  };

  const httpGet = defineTool({
    name: 'http_get',
    description: `Fetch a web page or API with an HTTP GET. ${OUTPUT} ${scope(limits)}`,
    input: z.strictObject({ url: urlInput, headers: headersInput }),
    risk: 'low',
    idempotent: true,
    // A page can carry instructions, and its URL can carry data out (src/agent/exposure.ts).
    untrustedOutput: true,
    egress: 'url',
    run: (args, context) => fetchAs('http_get', { method: 'GET', url: args.url, headers: args.headers }, context),
  });

  const httpRequest = defineTool({
    name: 'http_request',
    description:
      `Send an HTTP request with any common method, optionally with a body (e.g. to call an API). ${OUTPUT} ` +
      `Use http_get for plain reads. ${scope(limits)}`,
    input: z.strictObject({
      method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']).describe('HTTP method.'),
      url: urlInput,
      headers: headersInput,
      body: z.string().optional().describe(`Raw request body (at most ${formatBytes(settings.maxRequestBodyBytes)}); sent as text/plain unless you set Content-Type.`),
      json: z.unknown().optional().describe('A JSON value to send as the body with Content-Type application/json (instead of body).'),
    }),
    risk: 'high',
    untrustedOutput: true,
    egress: 'url',
    run(args, context) {
      const { body, contentType } = encodeBody(args.body, args.json);
      if (body !== undefined && (args.method === 'GET' || args.method === 'HEAD')) {
        throw new Error(`a ${args.method} request cannot carry a body; use POST, PUT, PATCH or DELETE`);
      }
      if (body !== undefined && body.length > settings.maxRequestBodyBytes) {
        throw new Error(`the body is ${formatBytes(body.length)}, over the ${formatBytes(settings.maxRequestBodyBytes)} limit`);
      }
      return fetchAs('http_request', { method: args.method, url: args.url, headers: args.headers, body, contentType }, context);
    },
  });

  return [httpGet, httpRequest];
}
