/**
 * The REST half of the fake: an HTTP server under /api/v10 that records every request, applies
 * injected failures, checks authorization, routes, and answers like Discord (JSON or 204).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { MAX_FILES_PER_MESSAGE, UPLOAD_LIMIT_BYTES } from './cdn.js';
import { DiscordError, invalidForm, invalidJson, tooLong, unauthorized } from './errors.js';
import { parseMultipart } from './multipart.js';
import type { FailNextError, RecordedRequest } from './types.js';

export interface UploadedFile {
  field: string;
  filename: string;
  size: number;
  contentType?: string;
  /** The bytes uploaded, so a test can read what the bot attached. */
  data?: Buffer;
}

export interface ParsedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  files: UploadedFile[];
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** `param(name)` gives a decoded `:name` segment of the route's pattern. */
export type Handler = (req: ParsedRequest, param: (name: string) => string) => Reply | Promise<Reply>;

export interface Route {
  method: string;
  /** e.g. `/channels/:channel/messages/:message`; segments compared after percent-decoding. */
  pattern: string;
  /** Interaction callbacks and interaction webhooks are called without a bot token. */
  auth: 'bot' | 'none';
  handler: Handler;
}

interface FailRule {
  method: string;
  path: RegExp;
  /** Only requests whose JSON body's text matches (any body when absent). */
  body?: RegExp;
  /** 'stall': no answer at all, as a request in flight when its sender dies. */
  error: FailNextError | 'stall';
  remaining: number;
}

export interface HttpDeps {
  routes: Route[];
  token: string;
  requests: RecordedRequest[];
  onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

export interface HttpServer {
  server: Server;
  port: number;
  failNext(match: { method: string; path: RegExp }, error: FailNextError, times: number): void;
  stallNext(match: { method: string; path: RegExp; body?: RegExp }): void;
  close(): Promise<void>;
}

const API_PREFIX = /^\/api\/v\d+(?=\/)/;

function match(pattern: string, segments: string[]): Record<string, string> | undefined {
  const parts = pattern.split('/').slice(1);
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, part] of parts.entries()) {
    const segment = segments[i] ?? '';
    if (part.startsWith(':')) params[part.slice(1)] = segment;
    else if (part !== segment) return undefined;
  }
  return params;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** JSON, or multipart with `payload_json` plus `files[n]` (what discord.js sends with files). */
function parseBody(raw: Buffer, contentType: string): { body: unknown; files: UploadedFile[] } {
  if (raw.length === 0) return { body: undefined, files: [] };
  if (contentType.startsWith('multipart/form-data')) {
    const files: UploadedFile[] = [];
    let body: unknown;
    for (const part of parseMultipart(raw, contentType)) {
      if (part.filename !== undefined) {
        files.push({
          field: part.name,
          filename: part.filename,
          size: part.data.length,
          data: part.data,
          ...(part.contentType === undefined ? {} : { contentType: part.contentType }),
        });
      } else if (part.name === 'payload_json') {
        body = parseJson(part.data.toString('utf8'));
      }
    }
    return { body, files };
  }
  return { body: parseJson(raw.toString('utf8')), files: [] };
}

/**
 * Discord's limits on files a bot sends (Reference > Uploading Files): 10 files a message, else
 * 50035 on `attachments`; 10 MiB a file by default (discord-api-docs #7312), else 413 with code
 * 40005 "Request entity too large" (as reported in discord-api-docs #6058 and #8572).
 */
function checkUploads(files: UploadedFile[]): void {
  if (files.length > MAX_FILES_PER_MESSAGE) throw invalidForm([tooLong('attachments', MAX_FILES_PER_MESSAGE)]);
  if (files.some((f) => f.size > UPLOAD_LIMIT_BYTES)) throw new DiscordError(413, 40005, 'Request entity too large');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidJson();
  }
}

function send(res: ServerResponse, reply: Reply): void {
  const headers = { ...reply.headers };
  if (reply.body === undefined) {
    res.writeHead(reply.status === 200 ? 204 : reply.status, headers).end();
    return;
  }
  res.writeHead(reply.status, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
}

function failureReply(error: FailNextError): Reply {
  if (error.status === 429 && 'retryAfterS' in error) {
    return {
      status: 429,
      headers: { 'retry-after': String(error.retryAfterS), 'x-ratelimit-scope': 'user' },
      body: { message: 'You are being rate limited.', retry_after: error.retryAfterS, global: false },
    };
  }
  const { code, message } = error as { code: number; message: string };
  return { status: error.status, body: { code, message } };
}

export async function startHttp(deps: HttpDeps): Promise<HttpServer> {
  const rules: FailRule[] = [];

  async function handle(req: IncomingMessage, record: RecordedRequest, url: URL): Promise<Reply> {
    const parsed = parseBody(await readBody(req), req.headers['content-type'] ?? '');
    record.body = parsed.body;
    record.files = parsed.files.map(({ field, filename, size }) => ({ field, filename, size }));
    checkUploads(parsed.files);
    const rule = rules.find((r) => r.remaining > 0 && r.method === record.method && r.path.test(record.path) && (r.body?.test(JSON.stringify(parsed.body ?? null)) ?? true));
    if (rule) {
      rule.remaining -= 1;
      // Held until the server closes (closeAllConnections ends it).
      if (rule.error === 'stall') return new Promise<Reply>(() => undefined);
      return failureReply(rule.error);
    }
    const prefixed = API_PREFIX.exec(url.pathname);
    // Percent-decoded one segment at a time (`%40original`, emoji) so '/' inside one cannot split it.
    const segments = prefixed ? url.pathname.slice(prefixed[0].length).split('/').slice(1).map(safeDecode) : [];
    for (const route of deps.routes) {
      if (!prefixed || route.method !== record.method) continue;
      const params = match(route.pattern, segments);
      if (!params) continue;
      const authorization = req.headers.authorization;
      if (route.auth === 'bot' && authorization !== `Bot ${deps.token}`) throw unauthorized();
      if (route.auth === 'none' && authorization !== undefined) {
        // Discord would accept it; the fake refuses so the bot never leaks its token to webhooks.
        throw new DiscordError(400, 0, 'Fake Discord: interaction routes are called without Authorization');
      }
      const param = (name: string): string => {
        const value = params[name];
        if (value === undefined) throw new Error(`route ${route.pattern} has no :${name}`);
        return value;
      };
      return route.handler({ method: record.method, path: record.path, query: url.searchParams, ...parsed }, param);
    }
    return { status: 404, body: { message: `404: Not Found (the fake Discord has no route for ${record.method} ${record.path})`, code: 0 } };
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const prefixed = API_PREFIX.exec(url.pathname);
    const rawPath = prefixed ? url.pathname.slice(prefixed[0].length) : url.pathname;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string') headers[name] = value;
    }
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: rawPath.split('/').map(safeDecode).join('/'),
      query: Object.fromEntries(url.searchParams),
      headers,
      body: undefined,
      files: [],
      status: 0,
      at: Date.now(),
    };
    deps.requests.push(record);
    handle(req, record, url)
      .catch((error: unknown): Reply => {
        if (error instanceof DiscordError) return { status: error.status, body: error.body() };
        const message = error instanceof Error ? error.message : String(error);
        return { status: 500, body: { message: `500: Fake Discord crashed: ${message}`, code: 0 } };
      })
      .then((reply) => {
        record.status = reply.status === 200 && reply.body === undefined ? 204 : reply.status;
        send(res, reply);
      }, () => undefined);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if ((req.url ?? '').startsWith('/gateway')) deps.onUpgrade(req, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    server,
    port,
    failNext(matcher, error, times) {
      rules.push({ method: matcher.method.toUpperCase(), path: matcher.path, error, remaining: times });
    },
    stallNext(matcher) {
      rules.push({ method: matcher.method.toUpperCase(), path: matcher.path, ...(matcher.body === undefined ? {} : { body: matcher.body }), error: 'stall', remaining: 1 });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
