/**
 * Limits that must hold on every server (../shared/notes/model-servers.md §2, §6, §7): the reply
 * length in the fields each server honours, parallel streamed calls told apart by id, usage
 * estimated when the server sends none.
 */
import { describe, expect, it } from 'vitest';
import { parseChunk, StreamAccumulator } from '../../src/llm/stream.js';
import type { ChatRequest } from '../../src/llm/types.js';
import { buildParams, finishReply } from '../../src/llm/wire.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { modelFor } from './helpers.js';

const fake = useFakeOpenAi();
const request: ChatRequest = { messages: [{ role: 'user', content: 'Look up two things.' }] };

describe('reply-length limit', () => {
  it('sends max_tokens (Ollama honours only that) and max_completion_tokens, plain and streamed', async () => {
    fake.script({ kind: 'text', content: 'a' }, { kind: 'text', content: 'b' });
    await modelFor(fake).chat({ ...request, maxOutputTokens: 300 });
    await modelFor(fake).chat({ ...request, maxOutputTokens: 300, onTextDelta: () => undefined });
    for (const body of fake.chatRequests()) {
      expect(body).toMatchObject({ max_tokens: 300, max_completion_tokens: 300 });
    }
  });

  it('sends neither when no limit is set', async () => {
    fake.script({ kind: 'text', content: 'a' });
    await modelFor(fake).chat(request);
    expect(fake.chatRequests()[0]).not.toHaveProperty('max_tokens');
    expect(fake.chatRequests()[0]).not.toHaveProperty('max_completion_tokens');
  });

  it('leaves out max_tokens where OpenAI refuses it: its reasoning models and its own hosts', () => {
    const limited = { ...request, maxOutputTokens: 50 };
    const fields = (model: string, baseURL?: string) => {
      const params = buildParams(model, limited, baseURL === undefined ? {} : { baseURL });
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- the field under test
      return { max_tokens: params.max_tokens, max_completion_tokens: params.max_completion_tokens };
    };
    for (const model of ['o1', 'o3-mini', 'o4-mini', 'gpt-5', 'gpt-5.1-mini']) {
      expect(fields(model)).toEqual({ max_tokens: undefined, max_completion_tokens: 50 });
    }
    expect(fields('gpt-4o-mini', 'https://api.openai.com/v1')).toEqual({ max_tokens: undefined, max_completion_tokens: 50 });
    expect(fields('my-deployment', 'https://acme.openai.azure.com/openai/v1')).toEqual({ max_tokens: undefined, max_completion_tokens: 50 });
    // A router id and local models get both: OpenRouter documents max_tokens and translates it.
    expect(fields('openai/gpt-5', 'https://openrouter.ai/api/v1')).toEqual({ max_tokens: 50, max_completion_tokens: 50 });
    expect(fields('qwen3:8b', 'http://localhost:11434/v1')).toEqual({ max_tokens: 50, max_completion_tokens: 50 });
    expect(fields('gpt-oss:20b', 'http://localhost:11434/v1')).toEqual({ max_tokens: 50, max_completion_tokens: 50 });
  });
});

describe('parallel tool calls streamed at index 0', () => {
  it('are two calls when each arrives whole with its own id (Ollama)', async () => {
    fake.script({
      kind: 'tool_calls',
      atIndexZero: true,
      calls: [
        { id: 'call_a', name: 'web_search', arguments: { q: 'first' } },
        { id: 'call_b', name: 'web_search', arguments: { q: 'second' } },
      ],
    });
    const reply = await modelFor(fake).chat({ ...request, onTextDelta: () => undefined });
    expect(reply.toolCalls).toEqual([
      { id: 'call_a', name: 'web_search', arguments: '{"q":"first"}' },
      { id: 'call_b', name: 'web_search', arguments: '{"q":"second"}' },
    ]);
    expect(reply.finishReason).toBe('tool_calls');
  });

  it('still joins fragments of one call: no id after the first, or the same id repeated', () => {
    const acc = new StreamAccumulator();
    const fragments = [
      { index: 0, id: 'call_a', function: { name: 'f', arguments: '{"x"' } },
      { index: 0, function: { arguments: ':1' } },
      { index: 0, id: 'call_a', function: { arguments: '}' } },
      { index: 0, id: '', function: { arguments: '' } },
      { index: 1, id: 'call_b', function: { name: 'g', arguments: '{}' } },
    ];
    for (const fragment of fragments) {
      const parsed = parseChunk({ choices: [{ index: 0, delta: { tool_calls: [fragment] } }] });
      if (!parsed.ok) throw new Error(parsed.issue);
      acc.add(parsed.chunk);
    }
    expect(acc.reply().toolCalls).toEqual([
      { id: 'call_a', name: 'f', arguments: '{"x":1}' },
      { id: 'call_b', name: 'g', arguments: '{}' },
    ]);
  });
});

describe('usage when the server sends none', () => {
  it('is estimated for a streamed tool-call reply, counting the calls as output', () => {
    const acc = new StreamAccumulator();
    const chunks = [
      { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'a', function: { name: 'search', arguments: '{"q":"first query"}' } }] } }] },
      { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'b', function: { name: 'search', arguments: '{"q":"second"}' } }] } }] },
      { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
    ];
    for (const value of chunks) {
      const parsed = parseChunk(value);
      if (!parsed.ok) throw new Error(parsed.issue);
      acc.add(parsed.chunk);
    }
    const reply = finishReply(acc.reply(), request, 'm');
    expect(reply.toolCalls).toHaveLength(2);
    expect(reply.usageEstimated).toBe(true);
    expect(reply.usage.promptTokens).toBeGreaterThan(0);
    // "search" twice plus both argument texts: 45 characters.
    expect(reply.usage.completionTokens).toBe(Math.ceil(45 / 4));
  });
});
