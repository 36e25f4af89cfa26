import { describe, expect, it } from 'vitest';
import { OpenAiChatModel } from '../../src/llm/client.js';
import { LlmError } from '../../src/llm/errors.js';
import { FitWindowModel, MAX_OVERFLOW_RETRIES } from '../../src/llm/fit-window.js';
import { CONDENSED_STEPS_HEADER, estimateRequest, fitMessages, promptBudget } from '../../src/llm/shrink-prompt.js';
import type { ChatMessage } from '../../src/llm/types.js';
import { silentLogger } from '../../src/log.js';
import { llamaCppOverflow, ollamaPromptTooLong, openAiError } from '../fakes/openai-error-bodies.js';
import { fakePromptTokens, withContextWindow } from '../fakes/openai-server.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';

const RULES = 'You are Cairn.\nRules:\n- Use tools only when they help.';
const GOAL = 'Summarise notes.txt for me.';
const text = (label: string, chars: number): string => `${label}: ${'lorem ipsum dolor sit amet '.repeat(Math.ceil(chars / 27))}`.slice(0, chars);

/** buildHead's shape (rules + memory, two earlier turns, the goal) and two read_file steps. */
function conversation(): ChatMessage[] {
  const memory = ['', '# Memory', ...Array.from({ length: 40 }, (_, i) => `- memory ${i}: ${text('m', 80)}`)].join('\n');
  return [
    { role: 'system', content: `${RULES}\n${memory}` },
    { role: 'user', content: text('earlier question', 2_000) },
    { role: 'assistant', content: text('earlier answer', 2_000) },
    { role: 'user', content: text('second question', 400) },
    { role: 'assistant', content: text('second answer', 400) },
    { role: 'user', content: GOAL },
    { role: 'assistant', content: null, toolCalls: [{ id: 'call_1', name: 'read_file', arguments: '{"path":"notes.txt","offset":0}' }] },
    { role: 'tool', toolCallId: 'call_1', content: text('first read', 6_000) },
    { role: 'assistant', content: null, toolCalls: [{ id: 'call_2', name: 'read_file', arguments: '{"path":"notes.txt","offset":6000}' }] },
    { role: 'tool', toolCallId: 'call_2', content: text('second read', 6_000) },
  ];
}

describe('fitMessages', () => {
  it('leaves a prompt that fits untouched', () => {
    const messages = conversation();
    const result = fitMessages(messages, undefined, 100_000);
    expect(result).toMatchObject({ messages, cuts: [], fits: true });
  });

  it('cuts in the written order: older results, earlier turns, memory, then the newest result', () => {
    const messages = conversation();
    const full = estimateRequest(messages, undefined);
    const orders: string[][] = [];
    for (const budget of [full - 200, full - 2_000, full - 2_700, full - 4_000, 300]) orders.push(fitMessages(messages, undefined, budget).cuts);
    expect(orders[0]).toEqual([expect.stringMatching(/^tool result call_1/)]);
    expect(orders[1]).toEqual([expect.stringMatching(/^tool result call_1/), expect.stringMatching(/earlier conversation turns$/)]);
    expect(orders[2]?.map((c) => c.split(' ')[0])).toEqual(['tool', '4', 'memory']);
    expect(orders[3]?.map((c) => c.split(' ').slice(0, 3).join(' '))).toEqual(['tool result call_1', '4 earlier conversation', 'memory section to', 'tool result call_2']);
    expect(orders[4]?.at(-1)).toMatch(/^tool result call_2/);
  });

  it('never cuts the rules, the goal or the newest message, and says where to read on', () => {
    const result = fitMessages(conversation(), undefined, 300);
    const [system] = result.messages;
    expect(system?.role).toBe('system');
    expect(system?.content?.startsWith(RULES)).toBe(true);
    expect(system?.content).toContain('use memory_search');
    expect(result.messages.filter((m) => m.role === 'user').map((m) => m.content)).toEqual([GOAL]);
    const tools = result.messages.filter((m) => m.role === 'tool').map((m) => m.content);
    expect(tools[0]).toMatch(/\[cut to fit the model's context window; read the rest with read_file path="notes\.txt" offset=200\]$/);
    expect(tools[1]).toMatch(/\[cut to fit the model's context window; read the rest with read_file path="notes\.txt" offset=6400\]$/);
    expect(result.messages.at(-1)?.role).toBe('tool');
    // Every tool result still follows the call it answers.
    expect(result.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant', 'tool']);
    expect(result.fits).toBe(false);
  });

  it('budgets room for the reply and for estimation error', () => {
    expect(promptBudget(4_096)).toBe(4_096 - 512 - 410);
    expect(promptBudget(4_096, 1_000)).toBe(4_096 - 1_000 - 410);
    expect(promptBudget(128_000)).toBe(128_000 - 4_096 - 12_800);
  });
});

describe('FitWindowModel against a server that refuses long prompts', () => {
  const fake = useFakeOpenAi();
  const log = silentLogger();
  const request = (): { messages: ChatMessage[] } => ({
    messages: [
      { role: 'system', content: RULES },
      { role: 'user', content: GOAL },
      { role: 'assistant', content: null, toolCalls: [{ id: 'call_1', name: 'read_file', arguments: '{"path":"notes.txt"}' }] },
      { role: 'tool', toolCallId: 'call_1', content: text('notes', 24_000) },
    ],
  });
  const modelWith = (learned: Map<string, number>, resolved = 8_192) =>
    new FitWindowModel(new OpenAiChatModel({ model: 'fake-model', baseURL: fake.baseURL, timeoutMs: 5_000, maxRetries: 0, log }), {
      window: () => Promise.resolve({ tokens: resolved, source: 'default' }),
      log,
      learned,
    });

  it('learns the window llama.cpp states, retries smaller, and keeps the limit for later requests', async () => {
    fake.respondWith(withContextWindow(4_096, () => ({ kind: 'text', content: 'ok' }), (tokens) => llamaCppOverflow(4_096, tokens)));
    const learned = new Map<string, number>();
    const model = modelWith(learned);
    expect((await model.chat(request())).content).toBe('ok');
    const sizes = fake.chatRequests().map(fakePromptTokens);
    expect(sizes).toHaveLength(2);
    expect(sizes[0]).toBeGreaterThan(4_096);
    expect(sizes[1]).toBeLessThanOrEqual(4_096);
    expect(learned.get('fake-model')).toBe(4_096);
    expect(await model.contextWindow()).toEqual({ tokens: 4_096, source: 'default', learned: true });

    // Later requests, and other clients of the same model sharing the map, fit at once.
    fake.reset();
    fake.respondWith(withContextWindow(4_096, () => ({ kind: 'text', content: 'again' }), (tokens) => llamaCppOverflow(4_096, tokens)));
    expect((await modelWith(learned).chat(request())).content).toBe('again');
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('when only the estimate fell short, shrinks by the overrun the server reports, not by a quarter', async () => {
    // The right window (4,096), but the prompt counted a little over it: llama.cpp says by how much.
    let first = true;
    fake.respondWith(() => {
      if (!first) return { kind: 'text', content: 'ok' };
      first = false;
      return llamaCppOverflow(4_096, 4_099);
    });
    const learned = new Map<string, number>();
    expect((await modelWith(learned, 4_096).chat(request())).content).toBe('ok');
    expect(learned.get('fake-model')).toBe(4_096 - 5 - 16);
  });

  it('shrinks by a quarter when the server names no window (Ollama with context shift off)', async () => {
    fake.respondWith(withContextWindow(5_000, () => ({ kind: 'text', content: 'ok' }), () => ollamaPromptTooLong));
    const learned = new Map<string, number>();
    expect((await modelWith(learned).chat(request())).content).toBe('ok');
    expect(fake.chatRequests()).toHaveLength(2);
    expect(learned.get('fake-model')).toBe(6_144);
  });

  it(`gives up after ${MAX_OVERFLOW_RETRIES} retries with the server's error, and passes other errors on at once`, async () => {
    fake.respondWith(() => llamaCppOverflow(600, 5_000));
    const error = await modelWith(new Map()).chat(request()).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(LlmError);
    expect(fake.chatRequests()).toHaveLength(1 + MAX_OVERFLOW_RETRIES);

    fake.reset();
    fake.respondWith(() => openAiError(400, 'messages: invalid role'));
    await expect(modelWith(new Map()).chat(request())).rejects.toThrow(/invalid role/);
    expect(fake.chatRequests()).toHaveLength(1);
  });
});

describe('the digest of older steps', () => {
  it('loses its oldest lines after the memory, keeping its header', () => {
    const digest = [CONDENSED_STEPS_HEADER, ...Array.from({ length: 30 }, (_, i) => `${i + 1}. read_file {"path":"notes.txt"} → ${text('excerpt', 150)}`)].join('\n');
    const messages: ChatMessage[] = [
      { role: 'system', content: RULES },
      { role: 'user', content: GOAL },
      { role: 'user', content: digest },
      { role: 'assistant', content: null, toolCalls: [{ id: 'call_9', name: 'current_time', arguments: '{}' }] },
      { role: 'tool', toolCallId: 'call_9', content: 'noon' },
    ];
    const full = estimateRequest(messages, undefined);
    const result = fitMessages(messages, undefined, full - 600);
    expect(result.fits).toBe(true);
    expect(result.cuts).toEqual([expect.stringMatching(/^digest of older steps to \d+ of 30 lines$/)]);
    const kept = result.messages[2]?.content ?? '';
    expect(kept.startsWith(CONDENSED_STEPS_HEADER)).toBe(true);
    expect(kept).toContain('30. read_file'); // the newest lines stay
    expect(kept).not.toContain('\n1. read_file');
  });
});

describe('the reply limit', () => {
  const recorder = () => {
    const seen: (number | undefined)[] = [];
    const inner = {
      model: 'm',
      chat: (request: { maxOutputTokens?: number }) => {
        seen.push(request.maxOutputTokens);
        return Promise.resolve({ content: 'ok', reasoning: null, toolCalls: [], usage: { promptTokens: 1, completionTokens: 1 }, usageEstimated: false, finishReason: 'stop', model: 'm' });
      },
    };
    return { seen, inner };
  };

  it('is sent on every request (Ollama would let a reply run on), within an eighth of a small window', async () => {
    for (const [window, expected] of [[131_072, 4_096], [8_192, 1_024], [1_024, 256]] as const) {
      const { seen, inner } = recorder();
      const model = new FitWindowModel(inner, { window: () => Promise.resolve({ tokens: window, source: 'default' }), maxOutputTokens: 4_096, log: silentLogger(), learned: new Map() });
      await model.chat({ messages: [{ role: 'user', content: 'hi' }] });
      expect(seen).toEqual([expected]);
    }
  });

  it('keeps a request’s own limit, and sends none when none is configured', async () => {
    const { seen, inner } = recorder();
    const window = () => Promise.resolve({ tokens: 131_072, source: 'default' as const });
    await new FitWindowModel(inner, { window, maxOutputTokens: 4_096, log: silentLogger(), learned: new Map() }).chat({ messages: [{ role: 'user', content: 'hi' }], maxOutputTokens: 50 });
    await new FitWindowModel(inner, { window, log: silentLogger(), learned: new Map() }).chat({ messages: [{ role: 'user', content: 'hi' }] });
    expect(seen).toEqual([50, undefined]);
  });
});
