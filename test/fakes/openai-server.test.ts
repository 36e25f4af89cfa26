import OpenAI, { APIError } from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAi, type FakeOpenAi } from './openai-server.js';

let fake: FakeOpenAi;
let sdk: OpenAI;

beforeEach(async () => {
  fake = await startFakeOpenAi();
  sdk = new OpenAI({ baseURL: fake.baseURL, apiKey: 'test-key', maxRetries: 0 });
});
afterEach(async () => {
  await fake.close();
});

const user = [{ role: 'user' as const, content: 'hello there' }];

async function collect(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe('fake OpenAI server', () => {
  it('answers a plain completion and records the request', async () => {
    fake.script({ kind: 'text', content: 'Hi!' });
    const reply = await sdk.chat.completions.create({ model: 'fake-model', messages: user });
    expect(reply.choices[0]?.message.content).toBe('Hi!');
    expect(reply.choices[0]?.finish_reason).toBe('stop');
    // Default usage: ceil(JSON(messages).length / 4) and ceil(output chars / 4).
    expect(reply.usage?.prompt_tokens).toBe(Math.ceil(JSON.stringify(user).length / 4));
    expect(reply.usage?.completion_tokens).toBe(1);

    expect(fake.requests).toHaveLength(1);
    const recorded = fake.requests[0];
    expect(recorded?.method).toBe('POST');
    expect(recorded?.path).toBe('/v1/chat/completions');
    expect(recorded?.headers.authorization).toBe('Bearer test-key');
    expect(recorded?.body).toMatchObject({ model: 'fake-model', messages: user });
    expect(fake.chatRequests()[0]?.messages).toEqual(user);
  });

  it('streams text as several deltas, then finish_reason, then a usage chunk', async () => {
    fake.script({ kind: 'text', content: 'The quick brown fox', reasoning: 'think', usage: { prompt: 7, completion: 5 } });
    const stream = await sdk.chat.completions.create({
      model: 'fake-model',
      messages: user,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = await collect(stream);
    expect(new Set(chunks.map((c): unknown => c.object))).toEqual(new Set(['chat.completion.chunk']));
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    const texts = chunks.map((c) => c.choices[0]?.delta.content).filter((t): t is string => !!t);
    expect(texts.length).toBeGreaterThan(1);
    expect(texts.join('')).toBe('The quick brown fox');
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 5 });
    const finishing = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finishing).toHaveLength(1);
    expect(finishing[0]?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.indexOf(finishing[0] as ChatCompletionChunk)).toBe(chunks.length - 2);
  });

  it('streams tool calls by index with id and name first and arguments in pieces', async () => {
    fake.script({
      kind: 'tool_calls',
      calls: [
        { name: 'read_file', arguments: { path: 'notes/today.md' }, id: 'call_a' },
        { name: 'search', arguments: '{"query": "cairn stones"}' },
      ],
    });
    const stream = await sdk.chat.completions.create({ model: 'fake-model', messages: user, stream: true });
    const chunks = await collect(stream);
    expect(chunks.some((c) => c.usage)).toBe(false); // no usage chunk unless include_usage
    const fragments = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    const first = fragments.filter((f) => f.index === 0);
    expect(first[0]).toMatchObject({ id: 'call_a', function: { name: 'read_file' } });
    expect(first.length).toBeGreaterThan(2);
    expect(first.map((f) => f.function?.arguments ?? '').join('')).toBe('{"path":"notes/today.md"}');
    const second = fragments.filter((f) => f.index === 1);
    expect(second[0]?.id).toBe('call_fake_0_1');
    expect(second.map((f) => f.function?.arguments ?? '').join('')).toBe('{"query": "cairn stones"}');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('ends the SSE body with data: [DONE]', async () => {
    fake.script({ kind: 'text', content: 'ok' });
    const res = await fetch(`${fake.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: user, stream: true }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text();
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(text.split('\n\n').filter(Boolean).every((event) => event.startsWith('data: '))).toBe(true);
  });

  it('sends OpenAI-style errors with retry hints', async () => {
    fake.script({ kind: 'error', status: 429, message: 'slow down', retryAfterMs: 1500 });
    const err: unknown = await sdk.chat.completions.create({ model: 'm', messages: user }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    const apiErr = err as APIError;
    expect(apiErr.status).toBe(429);
    expect(apiErr.message).toContain('slow down');
    expect(apiErr.headers?.get('retry-after-ms')).toBe('1500');
    expect(apiErr.headers?.get('retry-after')).toBe('2');
  });

  it('fails clearly when nothing is scripted, and lets a handler answer from the request', async () => {
    const err: unknown = await sdk.chat.completions.create({ model: 'm', messages: user }).catch((e: unknown) => e);
    expect((err as APIError).status).toBe(500);
    expect((err as APIError).message).toContain('fake: no scripted reply');

    fake.respondWith((body, index) => ({ kind: 'text', content: `#${index} saw ${body.messages.length} messages` }));
    const reply = await sdk.chat.completions.create({ model: 'm', messages: user });
    expect(reply.choices[0]?.message.content).toBe('#1 saw 1 messages');
  });

  it('omits usage for no_usage and returns a non-completion for malformed', async () => {
    fake.script({ kind: 'no_usage', content: 'x' }, { kind: 'malformed' });
    const plain = await sdk.chat.completions.create({ model: 'm', messages: user });
    expect(plain.usage).toBeUndefined();
    const odd: unknown = await sdk.chat.completions.create({ model: 'm', messages: user });
    expect(odd).toMatchObject({ oops: true });
  });

  it('serves deterministic unit-length embeddings and a model list', async () => {
    const a = await sdk.embeddings.create({ model: 'fake-embedding', input: ['cairn', 'stone'] });
    const b = await sdk.embeddings.create({ model: 'fake-embedding', input: 'cairn', encoding_format: 'float' });
    expect(a.data).toHaveLength(2);
    const vector = a.data[0]?.embedding ?? [];
    expect(vector).toHaveLength(64);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    // The SDK's default base64 transport is float32, so compare at float32 precision.
    (b.data[0]?.embedding ?? []).forEach((v, i) => {
      expect(v).toBeCloseTo(vector[i] ?? NaN, 6);
    });
    expect(a.data[1]?.embedding).not.toEqual(vector);
    expect(a.usage.prompt_tokens).toBeGreaterThan(0);

    const models = await sdk.models.list();
    expect(models.data.map((m) => m.id)).toContain('fake-model');
  });

  it('closes promptly while a request hangs', async () => {
    fake.script({ kind: 'hang' });
    const pending = sdk.chat.completions.create({ model: 'm', messages: user }).catch((e: unknown) => e);
    await expect.poll(() => fake.requests.length).toBe(1);
    const started = Date.now();
    await fake.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(Error);
  });
});

describe('fake OpenAI server with an API key', () => {
  it('rejects requests without the key', async () => {
    const keyed = await startFakeOpenAi({ apiKey: 'sk-test-123456', embeddingDimensions: 8 });
    try {
      const wrong = new OpenAI({ baseURL: keyed.baseURL, apiKey: 'wrong', maxRetries: 0 });
      const err: unknown = await wrong.models.list().catch((e: unknown) => e);
      expect((err as APIError).status).toBe(401);
      const right = new OpenAI({ baseURL: keyed.baseURL, apiKey: 'sk-test-123456', maxRetries: 0 });
      const emb = await right.embeddings.create({ model: 'e', input: 'x' });
      expect(emb.data[0]?.embedding).toHaveLength(8);
    } finally {
      await keyed.close();
    }
  });
});
