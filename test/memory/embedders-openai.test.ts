import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LlmError } from '../../src/llm/errors.js';
import { silentLogger } from '../../src/log.js';
import { createEmbedder } from '../../src/memory/embedders/index.js';
import { OpenAiEmbedder } from '../../src/memory/embedders/openai.js';
import { fakeEmbedding } from '../fakes/openai-server.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';

const fake = useFakeOpenAi({ embeddingDimensions: 48 });
const settings = (baseURL: string) => ({ baseURL, timeoutMs: 2000, maxRetries: 0 });

const embeddingRequests = () => fake.requests.filter((r) => r.path === '/v1/embeddings');
const inputsOf = (body: unknown): unknown => (body !== null && typeof body === 'object' && 'input' in body ? body.input : undefined);

describe('OpenAI-compatible embedder (real SDK, fake server)', () => {
  it('learns the dimension from a probe and names itself after the model', async () => {
    const embedder = await createEmbedder('fake-embedding', settings(fake.baseURL), silentLogger());
    expect(embedder).toBeInstanceOf(OpenAiEmbedder);
    expect(embedder.id).toBe('openai:fake-embedding');
    expect(embedder.dimensions).toBe(48);
    expect(embeddingRequests()).toHaveLength(1);
  });

  it('batches 256 inputs a request and keeps order', async () => {
    const embedder = await createEmbedder('fake-embedding', settings(fake.baseURL), silentLogger());
    fake.reset();
    const texts = Array.from({ length: 600 }, (_, i) => `memory number ${i}`);
    const vectors = await embedder.embed(texts, { purpose: 'document' });
    const sizes = embeddingRequests().map((r) => (inputsOf(r.body) as unknown[]).length);
    expect(sizes).toEqual([256, 256, 88]);
    expect(embeddingRequests()[0]?.body).toMatchObject({ model: 'fake-embedding', encoding_format: 'float' });
    expect(vectors).toHaveLength(600);
    for (const i of [0, 255, 256, 599]) {
      const expected = fakeEmbedding(texts[i] ?? '', 48);
      [...(vectors[i] ?? [])].forEach((v, d) => {
        expect(v).toBeCloseTo(expected[d] ?? 0, 5);
      });
    }
  });

  it('sends a space for an empty text, which OpenAI would refuse', async () => {
    const embedder = await createEmbedder('fake-embedding', settings(fake.baseURL), silentLogger());
    fake.reset();
    const [v] = await embedder.embed(['']);
    expect(inputsOf(embeddingRequests()[0]?.body)).toEqual([' ']);
    expect(Math.hypot(...(v ?? []))).toBeCloseTo(1, 5);
  });

  it('is abortable', async () => {
    const embedder = await createEmbedder('fake-embedding', settings(fake.baseURL), silentLogger());
    const controller = new AbortController();
    controller.abort();
    await expect(embedder.embed(['x'], { signal: controller.signal })).rejects.toMatchObject({ kind: 'aborted' });
  });
});

/** A hand-driven server for what the shared fake does not do: errors, changing dimensions. */
type Handler = (body: unknown, count: number) => { status: number; json: unknown };
let server: { url: string; count: () => number; close: () => Promise<void> } | undefined;

async function serve(handler: Handler): Promise<string> {
  let count = 0;
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      count++;
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
      const reply = handler(body, count);
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(reply.json));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  server = {
    url: `http://127.0.0.1:${port}/v1`,
    count: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => {
          resolve();
        });
      }),
  };
  return server.url;
}

afterEach(async () => {
  await server?.close();
  server = undefined;
});

const vectors = (body: unknown, dims: number) => {
  const input = inputsOf(body);
  const n = Array.isArray(input) ? input.length : 1;
  return { data: Array.from({ length: n }, (_, index) => ({ object: 'embedding', index, embedding: Array.from({ length: dims }, (_, d) => d + 1) })) };
};

describe('OpenAI-compatible embedder errors', () => {
  it('refuses a server whose dimension changes', async () => {
    const url = await serve((body, count) => ({ status: 200, json: vectors(body, count === 1 ? 8 : 16) }));
    const embedder = await createEmbedder('m', settings(url), silentLogger());
    expect(embedder.dimensions).toBe(8);
    await expect(embedder.embed(['a'])).rejects.toThrow(/returned 16 dimensions after 8/);
  });

  it('normalises vectors from servers that do not', async () => {
    const url = await serve((body) => ({ status: 200, json: vectors(body, 4) }));
    const embedder = await createEmbedder('m', settings(url), silentLogger());
    const [v] = await embedder.embed(['a']);
    expect(Math.hypot(...(v ?? []))).toBeCloseTo(1, 6);
  });

  it.each([
    [404, 'The model `nope` does not exist'],
    [400, "model 'nope' not found, try pulling it first"],
  ])('explains an unknown model (%i) in terms of CAIRN_EMBEDDINGS', async (status, message) => {
    const url = await serve(() => ({ status, json: { error: { message, type: 'invalid_request_error' } } }));
    const failure = createEmbedder('nope', settings(url), silentLogger());
    await expect(failure).rejects.toBeInstanceOf(LlmError);
    await expect(failure).rejects.toThrow(/Embeddings model "nope" is not available.*CAIRN_EMBEDDINGS/);
  });

  it('retries a 5xx and then succeeds', async () => {
    const url = await serve((body, count) =>
      count === 1 ? { status: 503, json: { error: { message: 'busy' } } } : { status: 200, json: vectors(body, 4) },
    );
    const embedder = await createEmbedder('m', { ...settings(url), maxRetries: 2 }, silentLogger());
    expect(embedder.dimensions).toBe(4);
    expect(server?.count()).toBe(2);
  });

  it('refuses a reply with the wrong number of embeddings', async () => {
    const url = await serve(() => ({ status: 200, json: { data: [] } }));
    await expect(createEmbedder('m', settings(url), silentLogger())).rejects.toThrow(/expected 1 embeddings, got 0/);
  });
});
