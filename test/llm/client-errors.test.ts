import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/llm/types.js';
import { startFakeOpenAi } from '../fakes/openai-server.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { captureLogger, failure, modelFor } from './helpers.js';

const fake = useFakeOpenAi();

const messages: ChatMessage[] = [{ role: 'user', content: 'hello' }];

describe('retries', () => {
  it('retries a 429 after the retry-after-ms the server asked for, and logs it without the key', async () => {
    fake.script({ kind: 'error', status: 429, message: 'Rate limit reached', retryAfterMs: 20 }, { kind: 'text', content: 'ok' });
    const { log, lines, raw } = captureLogger();
    // A large base delay: the test is only fast if the server's hint replaces our backoff.
    const model = modelFor(fake, { log, apiKey: 'sk-secret-key-0123456789', retryBaseDelayMs: 5000, retryMaxDelayMs: 8000 });
    const started = Date.now();
    const reply = await model.chat({ messages });
    const elapsed = Date.now() - started;
    expect(reply.content).toBe('ok');
    expect(fake.chatRequests()).toHaveLength(2);
    expect(elapsed).toBeGreaterThanOrEqual(18);
    expect(elapsed).toBeLessThan(2000);
    const gap = (fake.requests[1]?.at ?? 0) - (fake.requests[0]?.at ?? 0);
    expect(gap).toBeGreaterThanOrEqual(18);
    const warns = lines().filter((l) => l.level === 40);
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatchObject({ attempt: 1, maxAttempts: 3, status: 429, kind: 'rate_limited', delayMs: 20 });
    expect(raw()).not.toContain('sk-secret-key-0123456789');
  });

  it('retries a 500 and then succeeds', async () => {
    fake.script({ kind: 'error', status: 500, message: 'boom' }, { kind: 'text', content: 'recovered' });
    const reply = await modelFor(fake).chat({ messages });
    expect(reply.content).toBe('recovered');
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('gives up after maxRetries with the status and attempt count', async () => {
    fake.respondWith(() => ({ kind: 'error', status: 503, message: 'overloaded' }));
    const err = await failure(modelFor(fake, { maxRetries: 2 }).chat({ messages }));
    expect(err.kind).toBe('server_error');
    expect(err.status).toBe(503);
    expect(err.attempts).toBe(3);
    expect(err.message).toBe(`The model server at ${fake.baseURL} failed with status 503 (tried 3 times): overloaded.`);
    expect(fake.chatRequests()).toHaveLength(3);
  });

  it('fails at once when the server asks to wait longer than we accept', async () => {
    fake.script({ kind: 'error', status: 429, retryAfterMs: 120_000 });
    const err = await failure(modelFor(fake, { retryAfterCapMs: 1000 }).chat({ messages }));
    expect(err.kind).toBe('rate_limited');
    expect(err.attempts).toBe(1);
    expect(err.message).toContain('asked to wait 120 s');
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('does not retry 401 and says which setting to check', async () => {
    const keyed = await startFakeOpenAi({ apiKey: 'sk-right-key-123456' });
    try {
      const err = await failure(modelFor(keyed, { apiKey: 'sk-wrong-key-654321' }).chat({ messages }));
      expect(err.kind).toBe('auth');
      expect(err.status).toBe(401);
      expect(err.attempts).toBe(1);
      expect(err.message).toBe('The model server refused the API key (401). Check OPENAI_API_KEY.');
      expect(keyed.requests).toHaveLength(1);
    } finally {
      await keyed.close();
    }
  });

  it('does not retry 404 or 400', async () => {
    fake.script(
      { kind: 'error', status: 404, message: 'The model `nope` does not exist' },
      { kind: 'error', status: 400, message: "This model's maximum context length is 8192 tokens" },
    );
    const notFound = await failure(modelFor(fake, { model: 'nope' }).chat({ messages }));
    expect(notFound.kind).toBe('not_found');
    expect(notFound.message).toContain('Model "nope" was not found on the server (404). Check CAIRN_MODEL');
    const bad = await failure(modelFor(fake).chat({ messages }));
    expect(bad.kind).toBe('bad_request');
    expect(bad.message).toContain('maximum context length is 8192 tokens');
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('reports an unreachable server as a connection error after retrying', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const err = await failure(modelFor(fake, { baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 1 }).chat({ messages }));
    expect(err.kind).toBe('connection');
    expect(err.attempts).toBe(2);
    expect(err.message).toMatch(/^Could not reach the model server at http:\/\/127\.0\.0\.1:\d+\/v1 \(tried 2 times\)/);
    expect(err.message).toContain('OPENAI_BASE_URL');
  });
});

describe('timeouts and aborts', () => {
  it('retries a request that never answers, then reports a timeout', async () => {
    fake.respondWith(() => ({ kind: 'hang' }));
    const started = Date.now();
    const err = await failure(modelFor(fake, { timeoutMs: 200, maxRetries: 1 }).chat({ messages }));
    expect(err.kind).toBe('timeout');
    expect(err.attempts).toBe(2);
    expect(err.message).toBe(`The model server at ${fake.baseURL} did not answer within 0.2 s (tried 2 times).`);
    expect(fake.chatRequests()).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('treats a silent stream as a timeout and retries it when no text was shown yet', async () => {
    // Chunk 0 carries only the role, so nothing reached the caller before the stall.
    fake.script({ kind: 'text', content: 'never', stallAfterChunks: 1 }, { kind: 'text', content: 'second try' });
    const deltas: string[] = [];
    const reply = await modelFor(fake, { timeoutMs: 200 }).chat({ messages, onTextDelta: (t) => deltas.push(t) });
    expect(reply.content).toBe('second try');
    expect(deltas.join('')).toBe('second try');
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('does not retry a stream that stalls after showing text (it would repeat it)', async () => {
    fake.script({ kind: 'text', content: 'abcdefghi', stallAfterChunks: 2 }, { kind: 'text', content: 'unused' });
    const deltas: string[] = [];
    const err = await failure(
      modelFor(fake, { timeoutMs: 200, maxRetries: 2 }).chat({ messages, onTextDelta: (t) => deltas.push(t) }),
    );
    expect(err.kind).toBe('timeout');
    expect(err.attempts).toBe(1);
    expect(err.message).toContain('stopped sending its reply for more than 0.2 s');
    expect(err.message).toContain('not retried');
    expect(deltas).toEqual(['abc']);
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('stops quickly when the caller aborts a hanging request', async () => {
    fake.respondWith(() => ({ kind: 'hang' }));
    const controller = new AbortController();
    const pending = modelFor(fake, { timeoutMs: 10_000 }).chat({ messages, signal: controller.signal });
    await expect.poll(() => fake.chatRequests().length).toBe(1);
    const started = Date.now();
    controller.abort();
    const err = await failure(pending);
    expect(err.kind).toBe('aborted');
    expect(err.message).toBe('The model request was cancelled.');
    expect(Date.now() - started).toBeLessThan(500);
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('stops quickly when the caller aborts a streamed reply', async () => {
    fake.script({ kind: 'text', content: 'abcdefghi', stallAfterChunks: 2 });
    const controller = new AbortController();
    const pending = modelFor(fake, { timeoutMs: 10_000 }).chat({
      messages,
      signal: controller.signal,
      onTextDelta: () => {
        controller.abort();
      },
    });
    const err = await failure(pending);
    expect(err.kind).toBe('aborted');
  });

  it('stops quickly when the caller aborts during a backoff wait', async () => {
    fake.script({ kind: 'error', status: 429, retryAfterMs: 30_000 }, { kind: 'text', content: 'unused' });
    const controller = new AbortController();
    const pending = modelFor(fake).chat({ messages, signal: controller.signal });
    await expect.poll(() => fake.chatRequests().length).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = Date.now();
    controller.abort();
    const err = await failure(pending);
    expect(err.kind).toBe('aborted');
    expect(err.attempts).toBe(1);
    expect(Date.now() - started).toBeLessThan(500);
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('does not send anything when the signal is already aborted', async () => {
    const err = await failure(modelFor(fake).chat({ messages, signal: AbortSignal.abort() }));
    expect(err.kind).toBe('aborted');
    expect(fake.requests).toHaveLength(0);
  });
});

describe('malformed replies', () => {
  it('retries a malformed body once, then reports it', async () => {
    fake.respondWith(() => ({ kind: 'malformed' }));
    const err = await failure(modelFor(fake, { maxRetries: 3 }).chat({ messages }));
    expect(err.kind).toBe('malformed_output');
    expect(err.attempts).toBe(2);
    expect(err.message).toContain('not a valid chat completion');
    expect(err.message).toContain('choices');
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('recovers when the retry is well-formed, and handles broken JSON', async () => {
    fake.script({ kind: 'malformed', body: '{"choices": [' }, { kind: 'text', content: 'fine' });
    const reply = await modelFor(fake).chat({ messages });
    expect(reply.content).toBe('fine');

    fake.script({ kind: 'malformed', body: '{"choices": [' });
    const err = await failure(modelFor(fake, { maxRetries: 0 }).chat({ messages }));
    expect(err.kind).toBe('malformed_output');
    expect(err.message).toContain('not valid JSON');
  });

  it('rejects malformed stream chunks', async () => {
    fake.respondWith(() => ({ kind: 'malformed' }));
    const err = await failure(modelFor(fake).chat({ messages, onTextDelta: () => undefined }));
    expect(err.kind).toBe('malformed_output');
    expect(err.message).toContain('a streamed chunk is invalid');
  });

  it('rejects an empty choices array', async () => {
    fake.script({ kind: 'malformed', body: '{"choices": []}' }, { kind: 'malformed', body: '{"choices": []}' });
    const err = await failure(modelFor(fake).chat({ messages }));
    expect(err.message).toContain('it has no choices');
  });
});
