import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { contextOverflow, statedLimit } from '../../src/llm/context-overflow.js';
import { DEFAULT_CONTEXT_TOKENS, resolveContextWindow } from '../../src/llm/context-window.js';
import { LlmError } from '../../src/llm/errors.js';
import { startFakeOpenAi, type FakeDiscovery, type FakeOpenAi } from '../fakes/openai-server.js';

const servers: FakeOpenAi[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serverWith(discovery: FakeDiscovery): Promise<FakeOpenAi> {
  const fake = await startFakeOpenAi({ discovery });
  servers.push(fake);
  return fake;
}

describe('resolveContextWindow', () => {
  it('takes CAIRN_CONTEXT_TOKENS first, without asking the server', async () => {
    const fake = await serverWith({ vllmMaxModelLen: 32_768 });
    const info = await resolveContextWindow({ model: 'fake-model', baseURL: fake.baseURL, configured: 4_096 });
    expect(info).toEqual({ tokens: 4_096, source: 'CAIRN_CONTEXT_TOKENS' });
    expect(fake.requests).toHaveLength(0);
  });

  it('reads vLLM’s max_model_len from /v1/models', async () => {
    const fake = await serverWith({ vllmMaxModelLen: 32_768 });
    expect(await resolveContextWindow({ model: 'fake-model', baseURL: fake.baseURL })).toEqual({ tokens: 32_768, source: 'vllm /v1/models' });
  });

  it('reads llama.cpp’s n_ctx from /props at the server root', async () => {
    const fake = await serverWith({ llamaCppNCtx: 4_096 });
    expect(await resolveContextWindow({ model: 'fake-model', baseURL: fake.baseURL })).toEqual({ tokens: 4_096, source: 'llama.cpp /props' });
    expect(fake.requests.some((r) => r.path === '/props')).toBe(true);
  });

  it('reads LM Studio’s loaded context length, else its maximum', async () => {
    const loaded = await serverWith({ lmStudio: [{ id: 'fake-model', maxContextLength: 131_072, loadedContextLength: 8_000 }] });
    expect(await resolveContextWindow({ model: 'fake-model', baseURL: loaded.baseURL })).toEqual({ tokens: 8_000, source: 'lm studio' });
    const unloaded = await serverWith({ lmStudio: [{ id: 'fake-model', maxContextLength: 16_384 }] });
    expect(await resolveContextWindow({ model: 'fake-model', baseURL: unloaded.baseURL })).toEqual({ tokens: 16_384, source: 'lm studio' });
  });

  it('reads Ollama’s allocated context of a loaded model from /api/ps', async () => {
    const fake = await serverWith({ ollama: { loaded: [{ name: 'fake-model:latest', contextLength: 8_192 }], modelInfo: { 'llama.context_length': 131_072 } } });
    expect(await resolveContextWindow({ model: 'fake-model', baseURL: fake.baseURL })).toEqual({ tokens: 8_192, source: 'ollama /api/ps' });
  });

  it('reads a Modelfile num_ctx from /api/show, else assumes Ollama’s 4,096 default (capped by the trained size)', async () => {
    const withNumCtx = await serverWith({ ollama: { parameters: 'stop "<|eot_id|>"\nnum_ctx 16384', modelInfo: { 'llama.context_length': 131_072 } } });
    expect(await resolveContextWindow({ model: 'fake-model', baseURL: withNumCtx.baseURL })).toEqual({ tokens: 16_384, source: 'ollama /api/show' });
    expect(withNumCtx.requests.find((r) => r.path === '/api/show')?.body).toEqual({ model: 'fake-model' });
    const trainedOnly = await serverWith({ ollama: { modelInfo: { 'gemma3.context_length': 131_072 } } });
    expect(await resolveContextWindow({ model: 'fake-model', baseURL: trainedOnly.baseURL })).toEqual({ tokens: 4_096, source: 'ollama /api/show' });
    const small = await serverWith({ ollama: { modelInfo: { 'phi.context_length': 2_048 } } });
    expect(await resolveContextWindow({ model: 'fake-model', baseURL: small.baseURL })).toEqual({ tokens: 2_048, source: 'ollama /api/show' });
  });

  it('falls back to the known-models table, then to the stated default', async () => {
    const plain = await serverWith({});
    expect(await resolveContextWindow({ model: 'gpt-4o-mini', baseURL: plain.baseURL })).toEqual({ tokens: 128_000, source: 'known model' });
    expect(await resolveContextWindow({ model: 'openai/gpt-4.1-mini', baseURL: plain.baseURL })).toEqual({ tokens: 1_047_576, source: 'known model' });
    expect(await resolveContextWindow({ model: 'fake-model', baseURL: plain.baseURL })).toEqual({ tokens: DEFAULT_CONTEXT_TOKENS, source: 'default' });
    expect(await resolveContextWindow({ model: 'gpt-4o' })).toEqual({ tokens: 128_000, source: 'known model' });
  });

  it('falls through when the server does not answer in time or is not there', async () => {
    const fake = await serverWith({ vllmMaxModelLen: 32_768 });
    const slow: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => {
          reject(new Error('aborted'));
        });
      });
    const started = Date.now();
    expect(await resolveContextWindow({ model: 'fake-model', baseURL: fake.baseURL, timeoutMs: 100, fetch: slow })).toEqual({ tokens: DEFAULT_CONTEXT_TOKENS, source: 'default' });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await resolveContextWindow({ model: 'fake-model', baseURL: 'http://127.0.0.1:9/v1', timeoutMs: 500 })).toMatchObject({ source: 'default' });
  });
});

describe('CAIRN_CONTEXT_TOKENS', () => {
  it('is optional, a whole number of tokens within bounds', () => {
    expect(loadConfig({}).llm.contextTokens).toBeUndefined();
    expect(loadConfig({ CAIRN_CONTEXT_TOKENS: '4096' }).llm.contextTokens).toBe(4_096);
    expect(() => loadConfig({ CAIRN_CONTEXT_TOKENS: '100' })).toThrow(/CAIRN_CONTEXT_TOKENS: must be at least 512/);
    expect(() => loadConfig({ CAIRN_CONTEXT_TOKENS: '4k' })).toThrow(/CAIRN_CONTEXT_TOKENS: must be a number/);
  });
});

describe('contextOverflow', () => {
  const bad = (detail: string, extra: { serverCode?: string; serverType?: string } = {}) =>
    new LlmError('bad_request', `The model server rejected the request (400): ${detail}.`, { status: 400, attempts: 1, detail, ...extra });

  it.each([
    ['OpenAI', "This model's maximum context length is 4097 tokens. However, you requested 4120 tokens (4000 in the messages, 120 in the completion).", 4_097, 4_120],
    ['vLLM (current)', "You passed 5000 input tokens and requested 0 output tokens. However, the model's context length is only 4096 tokens.", 4_096, 5_000],
    ['vLLM (older)', "This model's maximum context length is 2048 tokens. However, your request has 3000 input tokens.", 2_048, 3_000],
    ['llama.cpp', 'request (9412 tokens) exceeds the available context size (8192 tokens), try increasing it', 8_192, 9_412],
    ['LM Studio', 'Trying to keep the first 15857 tokens when context the overflows. However, the model is loaded with context length of only 4096 tokens, which is not enough.', 4_096, 15_857],
    ['LM Studio (newer)', 'Cannot truncate prompt with n_keep (15028) >= n_ctx (7424)', 7_424, 15_028],
    ['OpenRouter', "This endpoint's maximum context length is 131072 tokens. However, you requested about 141607 tokens.", 131_072, 141_607],
    ['SGLang', "The input (9000 tokens) is longer than the model's context length (8192 tokens).", 8_192, 9_000],
    ['SGLang (total)', "Requested token count exceeds the model's maximum context length of 32768 tokens. You requested a total of 40000 tokens.", 32_768, 40_000],
    ['Ollama (context shift off)', 'the prompt is longer than the context length currently available to the model', null, null],
  ])('recognises %s and reads its window and the request’s size', (_server, words, limit, requested) => {
    expect(contextOverflow(bad(words))).toEqual({ words, limit, requested });
  });

  it('goes by the code or type when the words are unfamiliar, and ignores other errors', () => {
    expect(contextOverflow(bad('too long', { serverCode: 'context_length_exceeded' }))).toEqual({ words: 'too long', limit: null, requested: null });
    expect(contextOverflow(bad('too long', { serverType: 'exceed_context_size_error' }))).not.toBeNull();
    expect(contextOverflow(bad('registry.ollama.ai/library/gemma3:4b does not support tools'))).toBeNull();
    expect(contextOverflow(new LlmError('timeout', 'slow', { attempts: 1 }))).toBeNull();
    expect(contextOverflow(new Error("maximum context length is 10 tokens"))).toBeNull();
    expect(statedLimit('maximum context length is 131,072 tokens')).toBe(131_072);
  });
});
