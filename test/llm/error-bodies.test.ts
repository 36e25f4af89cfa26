/**
 * Every error body shape in the field, through the real openai SDK against the fake server:
 * the server's words reach LlmError's message, secrets never do, retries still happen.
 * Shapes and sources: ../shared/notes/model-servers.md §1; bodies: test/fakes/openai-error-bodies.ts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { OpenAiEmbedder } from '../../src/memory/embedders/openai.js';
import {
  fastApiDetail,
  fastApiValidation,
  llamaCppContextOverflow,
  lmStudioError,
  nginxBadGateway,
  openAiContextOverflow,
  openAiError,
  plainTextError,
  streamError,
  vllmFlatError,
} from '../fakes/openai-error-bodies.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { captureLogger, failure, modelFor } from './helpers.js';

const fake = useFakeOpenAi();
const messages = [{ role: 'user' as const, content: 'hello' }];

describe('the server\'s words reach the message, whatever the body shape', () => {
  it('OpenAI nested error, with its code kept for callers', async () => {
    fake.script(openAiContextOverflow);
    const err = await failure(modelFor(fake).chat({ messages }));
    expect(err.kind).toBe('bad_request');
    expect(err.message).toBe(
      "The model server rejected the request (400): This model's maximum context length is 4097 tokens. However, you requested 4120 tokens (4000 in the messages, 120 in the completion). Please reduce the length of the messages or completion.",
    );
    expect(err).toMatchObject({ status: 400, serverCode: 'context_length_exceeded', serverType: 'invalid_request_error' });
    expect(err.detail).toContain('maximum context length is 4097 tokens');
  });

  it("llama.cpp's context overflow keeps its type", async () => {
    fake.script(llamaCppContextOverflow);
    const err = await failure(modelFor(fake).chat({ messages }));
    expect(err.message).toContain('(400): request (9412 tokens) exceeds the available context size (8192 tokens)');
    expect(err).toMatchObject({ serverType: 'exceed_context_size_error', serverCode: '400' });
  });

  it("LM Studio's string error, without JSON quotes", async () => {
    fake.script(lmStudioError(400, 'Model does not support images. Please use a model that does.'));
    const err = await failure(modelFor(fake).chat({ messages }));
    expect(err.message).toBe('The model server rejected the request (400): Model does not support images. Please use a model that does.');
  });

  it("vLLM's flat error, which openai v6 alone reports as 'status code (no body)'", async () => {
    const words = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set';
    fake.script(vllmFlatError(400, words));
    const err = await failure(modelFor(fake).chat({ messages }));
    expect(err.message).toBe(`The model server rejected the request (400): ${words}.`);
    expect(err.message).not.toContain('no body');
    expect(err).toMatchObject({ serverType: 'BadRequestError', serverCode: '400' });
    // A streamed request is refused before its stream starts, with the same body.
    fake.script(vllmFlatError(400, words));
    const streamed = await failure(modelFor(fake).chat({ messages, onTextDelta: () => undefined }));
    expect(streamed.message).toBe(err.message);
  });

  it("FastAPI's detail, as a string and as a validation list", async () => {
    fake.script(fastApiDetail(400, 'max_tokens must be at least 1, got -1.'), fastApiValidation([{ loc: ['body', 'messages', 0, 'content'], msg: 'Field required' }]));
    const asString = await failure(modelFor(fake).chat({ messages }));
    expect(asString.message).toBe('The model server rejected the request (400): max_tokens must be at least 1, got -1.');
    const asList = await failure(modelFor(fake).chat({ messages }));
    expect(asList.message).toBe('The model server rejected the request (422): messages.0.content: Field required.');
  });

  it('a 404 keeps its advice and adds the words (not every 404 is a missing model)', async () => {
    fake.script(openAiError(404, 'No endpoints found that support tool use. To learn more about provider routing, visit: https://openrouter.ai/docs/provider-routing'));
    const err = await failure(modelFor(fake).chat({ messages }));
    expect(err.kind).toBe('not_found');
    expect(err.message).toContain('Model "fake-model" was not found on the server (404). Check CAIRN_MODEL');
    expect(err.message).toContain('The server said: No endpoints found that support tool use.');
  });

  it('plain text from a 500, retried, then reported with its words', async () => {
    fake.respondWith(() => plainTextError(500, 'Internal Server Error'));
    const err = await failure(modelFor(fake).chat({ messages }));
    expect(err.kind).toBe('server_error');
    expect(err.message).toBe(`The model server at ${fake.baseURL} failed with status 500 (tried 3 times): Internal Server Error.`);
    expect(fake.chatRequests()).toHaveLength(3);
  });

  it("a proxy's HTML 502 page is retried and reduced to its title", async () => {
    fake.respondWith(() => nginxBadGateway);
    const err = await failure(modelFor(fake).chat({ messages }));
    expect(err.kind).toBe('server_error');
    expect(err.status).toBe(502);
    expect(err.message).toBe(`The model server at ${fake.baseURL} failed with status 502 (tried 3 times): Bad Gateway.`);
    fake.reset();
    fake.script(nginxBadGateway, { kind: 'text', content: 'back' });
    expect((await modelFor(fake).chat({ messages })).content).toBe('back');
  });

  it('a 429 keeps its words (OpenAI says "quota" this way) and a 403 its reason', async () => {
    fake.script(
      openAiError(429, 'You exceeded your current quota, please check your plan and billing details.', { code: 'insufficient_quota' }),
      openAiError(403, 'Key limit exceeded (monthly limit).'),
    );
    const quota = await failure(modelFor(fake, { maxRetries: 0 }).chat({ messages }));
    expect(quota.message).toContain('rate-limiting requests (429): You exceeded your current quota, please check your plan and billing details.');
    expect(quota.serverCode).toBe('insufficient_quota');
    const denied = await failure(modelFor(fake).chat({ messages }));
    expect(denied.message).toBe('The model server denied access (403): Key limit exceeded (monthly limit). Check OPENAI_API_KEY and that the key may use model "fake-model".');
  });
});

describe('errors inside a stream', () => {
  it('keep their words and are not retried once text was shown', async () => {
    fake.script(streamError('CUDA error: an illegal memory access was encountered', 'Hello there'), { kind: 'text', content: 'unused' });
    const deltas: string[] = [];
    const err = await failure(modelFor(fake).chat({ messages, onTextDelta: (t) => deltas.push(t) }));
    expect(err.kind).toBe('server_error');
    expect(err.attempts).toBe(1);
    expect(err.message).toBe(
      `The model server at ${fake.baseURL} failed: CUDA error: an illegal memory access was encountered. Part of the reply had already been shown, so it was not retried.`,
    );
    expect(deltas.join('')).toBe('Hello there');
  });

  it('are retried when nothing was shown yet; a bare string error keeps its words too', async () => {
    fake.script(streamError('engine overloaded'), { kind: 'text', content: 'second try' });
    const reply = await modelFor(fake).chat({ messages, onTextDelta: () => undefined });
    expect(reply.content).toBe('second try');

    fake.script({ kind: 'stream_error', data: JSON.stringify({ error: 'Model unloaded' }) });
    const err = await failure(modelFor(fake, { maxRetries: 0 }).chat({ messages, onTextDelta: () => undefined }));
    expect(err.message).toBe(`The model server at ${fake.baseURL} failed: Model unloaded.`);
  });
});

describe('secrets and retries', () => {
  const key = 'cairn-local-key-0123456789abcdef';

  it('never repeats an API key that a server echoes, in the message or anywhere in the error', async () => {
    const { log, raw } = captureLogger();
    fake.script(
      vllmFlatError(400, `Invalid key "${key}" (Authorization: Bearer ${key})`),
      fastApiDetail(403, `key ${key} is not allowed`),
      streamError(`upstream refused key ${key}`, 'partial'),
    );
    const model = modelFor(fake, { apiKey: key, log });
    const flat = await failure(model.chat({ messages }));
    expect(flat.message).toBe('The model server rejected the request (400): Invalid key "[REDACTED]" (Authorization: Bearer [REDACTED]).');
    const denied = await failure(model.chat({ messages }));
    expect(denied.message).toContain('(403): key [REDACTED] is not allowed');
    for (const err of [flat, denied]) expect(inspect(err, { depth: 10 })).not.toContain(key);
    const streamed = await failure(model.chat({ messages, onTextDelta: () => undefined }));
    expect(streamed.message).toContain('upstream refused key [REDACTED]');
    expect(streamed.detail).not.toContain(key);
    log.error({ err: flat }, 'model failed');
    expect(raw()).not.toContain(key);
  });

  it('still retries a 429 after its retry-after, whatever the body shape', async () => {
    fake.script({ ...vllmFlatError(429, 'The server is busy'), retryAfterMs: 30 }, { kind: 'text', content: 'ok' });
    const started = Date.now();
    const reply = await modelFor(fake, { retryBaseDelayMs: 5000, retryMaxDelayMs: 8000 }).chat({ messages });
    expect(reply.content).toBe('ok');
    expect(Date.now() - started).toBeGreaterThanOrEqual(28);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('gives up on a too-long retry-after at once, with the words', async () => {
    fake.script({ ...lmStudioError(429, 'Too many requests'), retryAfterMs: 120_000 });
    const err = await failure(modelFor(fake, { retryAfterCapMs: 1000 }).chat({ messages }));
    expect(err.attempts).toBe(1);
    expect(err.message).toContain('(429): Too many requests. It asked to wait 120 s');
  });
});

describe('the embeddings client keeps the words too', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  async function serve(status: number, body: string, contentType = 'application/json'): Promise<string> {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(status, { 'content-type': contentType });
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  }

  const embedder = (baseURL: string) => new OpenAiEmbedder({ model: 'nomic-embed-text', baseURL, timeoutMs: 2000, maxRetries: 0, log: silentLogger() });

  it("from vLLM's flat body", async () => {
    const url = await serve(400, JSON.stringify({ object: 'error', message: 'This model does not support the embeddings API', type: 'BadRequestError', code: 400 }));
    const err = await failure(embedder(url).embed(['x']));
    expect(err.message).toBe('The model server rejected the request (400): This model does not support the embeddings API.');
  });

  it("from Ollama's unknown-model answer, added to the CAIRN_EMBEDDINGS advice", async () => {
    const url = await serve(404, JSON.stringify({ error: { message: 'model "nomic-embed-text" not found, try pulling it first', type: 'api_error' } }));
    const err = await failure(embedder(url).embed(['x']));
    expect(err.kind).toBe('not_found');
    expect(err.message).toContain('Check CAIRN_EMBEDDINGS');
    expect(err.message).toContain('The server said: model "nomic-embed-text" not found, try pulling it first.');
  });
});
