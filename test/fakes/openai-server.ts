/**
 * A scriptable OpenAI-compatible HTTP server for tests. It is a real listening server so the
 * real `openai` SDK (and a CLI child process) can talk to it; replies are queued by tests.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { buildCompletion, completionJson, embeddingsJson, streamChunks, type ScriptedReply } from './openai-replies.js';
import { discoveryReply, type FakeDiscovery } from './openai-window.js';
import { contentProblem } from './openai-content.js';

export type { ScriptedReply, ScriptedUsage } from './openai-replies.js';
export { fakePromptTokens, withContextWindow, type FakeDiscovery } from './openai-window.js';
export { fakeEmbedding } from './openai-replies.js';

export interface RecordedRequest {
  method: string;
  path: string;
  /** Header names are lower-case, as node:http delivers them. */
  headers: Record<string, string>;
  /** Parsed JSON body, or undefined when there was none or it was not JSON. */
  body: unknown;
  at: number;
}

const ChatBodySchema = z.looseObject({
  model: z.string(),
  messages: z.array(z.looseObject({ role: z.string() })),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  tools: z
    .array(
      z.looseObject({
        type: z.string(),
        function: z.looseObject({
          name: z.string(),
          description: z.string().optional(),
          parameters: z.record(z.string(), z.unknown()).optional(),
        }),
      }),
    )
    .nullish(),
});
export type ChatCompletionRequestBody = z.infer<typeof ChatBodySchema>;

export interface FakeOpenAi {
  baseURL: string;
  requests: RecordedRequest[];
  chatRequests(): ChatCompletionRequestBody[];
  script(...replies: ScriptedReply[]): void;
  respondWith(handler: (body: ChatCompletionRequestBody, index: number) => ScriptedReply): void;
  reset(): void;
  close(): Promise<void>;
}

export interface FakeOpenAiOptions {
  apiKey?: string;
  embeddingDimensions?: number;
  /** Context-length discovery routes, shaped as each server has them (notes §5); absent ones 404. */
  discovery?: FakeDiscovery;
  /** The ids `/v1/models` lists (default fake-model, fake-embedding, gpt-4o-mini). */
  models?: string[];
  /** Extra fields on every `/v1/models` entry, e.g. OpenRouter's `context_length` (notes §5). */
  modelFields?: Record<string, unknown>;
}

const MODELS = ['fake-model', 'fake-embedding', 'gpt-4o-mini'];

export async function startFakeOpenAi(options: FakeOpenAiOptions = {}): Promise<FakeOpenAi> {
  const dimensions = options.embeddingDimensions ?? 64;
  const requests: RecordedRequest[] = [];
  const chatBodies: ChatCompletionRequestBody[] = [];
  let queue: ScriptedReply[] = [];
  let handler: ((body: ChatCompletionRequestBody, index: number) => ScriptedReply) | undefined;
  // Tracked so close() can end hanging and stalled replies instead of waiting for them.
  const open = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();

  const wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw.length > 0 ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    requests.push({ method, path, headers: flatHeaders(req), body, at: Date.now() });

    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      sendError(res, 401, 'Incorrect API key provided.');
      return;
    }
    const discovered = discoveryReply(options.discovery, method, path);
    if (discovered !== undefined) {
      sendJson(res, 200, discovered);
    } else if (method === 'GET' && path === '/v1/models') {
      const maxModelLen = options.discovery?.vllmMaxModelLen;
      const data = (options.models ?? MODELS).map((id) => ({ id, object: 'model', created: 0, owned_by: 'fake', ...(maxModelLen === undefined ? {} : { max_model_len: maxModelLen }), ...options.modelFields }));
      sendJson(res, 200, { object: 'list', data });
    } else if (method === 'POST' && path === '/v1/embeddings') {
      const result = embeddingsJson(body, dimensions);
      if (result.ok) sendJson(res, 200, result.json);
      else sendError(res, 400, result.message);
    } else if (method === 'POST' && path === '/v1/chat/completions') {
      const parsed = ChatBodySchema.safeParse(body);
      if (!parsed.success) {
        sendError(res, 400, `fake: invalid chat completion request: ${z.prettifyError(parsed.error)}`);
        return;
      }
      const badContent = parsed.data.messages.map((m) => contentProblem('content' in m ? m.content : undefined)).find((p) => p !== null);
      if (badContent !== undefined) {
        sendError(res, 400, `fake: invalid chat completion request: ${badContent}`);
        return;
      }
      const index = chatBodies.length;
      chatBodies.push(parsed.data);
      const reply = queue.shift() ?? handler?.(parsed.data, index);
      if (reply === undefined) {
        sendError(res, 500, 'fake: no scripted reply');
        return;
      }
      await answerChat(res, parsed.data, reply, index);
    } else {
      sendError(res, 404, `fake: no route for ${method} ${path}`);
    }
  }

  async function answerChat(
    res: ServerResponse,
    body: ChatCompletionRequestBody,
    reply: ScriptedReply,
    index: number,
  ): Promise<void> {
    if (reply.kind === 'hang') return; // `open` keeps the response until close()
    if (reply.kind === 'error') {
      const headers: Record<string, string> = {};
      if (reply.retryAfterMs !== undefined) {
        headers['retry-after-ms'] = String(reply.retryAfterMs);
        headers['retry-after'] = String(Math.ceil(reply.retryAfterMs / 1000));
      }
      if (reply.body !== undefined) {
        res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'application/json', ...headers, ...reply.headers });
        res.end(reply.body);
        return;
      }
      sendError(res, reply.status, reply.message ?? `fake error ${reply.status}`, { ...headers, ...reply.headers });
      return;
    }
    if (reply.kind === 'stream_error') {
      // The text chunks of an ordinary reply without its finish chunk, then the error event.
      const partial = buildCompletion(body.model, body.messages, { kind: 'text', content: reply.content ?? '' }, index);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      for (const event of streamChunks(partial, false).slice(0, -1)) res.write(`data: ${JSON.stringify(event)}\n\n`);
      res.end(`data: ${reply.data}\n\ndata: [DONE]\n\n`);
      return;
    }
    const stream = body.stream === true;
    if (reply.kind === 'malformed') {
      if (stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(`data: ${reply.body ?? '{"oops":true}'}\n\ndata: [DONE]\n\n`);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(reply.body ?? '{"oops":true}');
      }
      return;
    }
    if ((reply.kind === 'text' || reply.kind === 'tool_calls') && reply.delayMs !== undefined) {
      await wait(reply.delayMs);
    }
    const completion = buildCompletion(body.model, body.messages, reply, index);
    if (!stream) {
      sendJson(res, 200, completionJson(completion));
      return;
    }
    const includeUsage = body.stream_options?.include_usage === true;
    const events = streamChunks(completion, includeUsage);
    const chunkDelay = reply.kind === 'no_usage' ? undefined : reply.chunkDelayMs;
    const stallAfter = reply.kind === 'text' ? reply.stallAfterChunks : undefined;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const [i, event] of events.entries()) {
      if (stallAfter !== undefined && i >= stallAfter) return;
      if (chunkDelay !== undefined && i > 0) await wait(chunkDelay);
      if (res.destroyed) return;
      res.write(`data: ${JSON.stringify(event)}\n\n`);
    }
    res.end('data: [DONE]\n\n');
  }

  const server = createServer((req, res) => {
    open.add(res);
    res.on('close', () => open.delete(res));
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, `fake: ${String(err)}`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    chatRequests: () => [...chatBodies],
    script: (...replies) => {
      queue.push(...replies);
    },
    respondWith: (fn) => {
      handler = fn;
    },
    reset: () => {
      queue = [];
      handler = undefined;
      requests.length = 0;
      chatBodies.length = 0;
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const res of open) res.destroy();
      const closed = new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      server.closeAllConnections(); // keep-alive sockets would otherwise hold close() open
      await closed;
    },
  };
}

function errorType(status: number): string {
  if (status === 401) return 'invalid_api_key';
  if (status === 429) return 'rate_limit_exceeded';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const type = errorType(status);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ error: { message, type, param: null, code: type } }));
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
