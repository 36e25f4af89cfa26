/**
 * Reasoning through the real openai SDK, for every way servers send it
 * (../shared/notes/model-servers.md §3), in JSON and in SSE form.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { chatStructured } from '../../src/llm/structured.js';
import type { ChatMessage, ToolSpec } from '../../src/llm/types.js';
import type { ReasoningWire } from '../fakes/openai-replies.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { modelFor } from './helpers.js';

const fake = useFakeOpenAi();
const messages: ChatMessage[] = [{ role: 'user', content: 'What is six times seven?' }];
const clock: ToolSpec = { name: 'current_time', description: 'The time', parameters: { type: 'object', properties: {} } };
const THOUGHT = 'The user asks for 6×7. Six sevens are forty-two.';
const WAYS: ReasoningWire[] = ['reasoning_content', 'reasoning', 'think_tags', 'closing_tag'];

const modes = [
  { name: 'not streamed', stream: false },
  { name: 'streamed', stream: true },
] as const;

describe.each(modes)('reasoning from the server, $name', ({ stream }) => {
  const ask = async (request: { tools?: ToolSpec[] } = {}) => {
    const deltas: string[] = [];
    const reply = await modelFor(fake).chat({ messages, ...request, ...(stream ? { onTextDelta: (t: string) => deltas.push(t) } : {}) });
    return { reply, streamed: deltas.join('') };
  };

  it.each(WAYS)('keeps %s reasoning out of the answer', async (way) => {
    fake.script({ kind: 'text', content: '42', reasoning: THOUGHT, reasoningAs: way });
    const { reply, streamed } = await ask();
    expect(reply.content).toBe('42');
    expect(reply.reasoning).toBe(THOUGHT);
    if (stream && way !== 'closing_tag') expect(streamed).toBe('42');
  });

  it.each(WAYS)('splits %s reasoning from a tool-call turn and keeps its calls', async (way) => {
    fake.script({ kind: 'tool_calls', content: 'Checking the clock.', reasoning: THOUGHT, reasoningAs: way, calls: [{ id: 'call_1', name: 'current_time', arguments: {} }] });
    const { reply } = await ask({ tools: [clock] });
    expect(reply).toMatchObject({ content: 'Checking the clock.', reasoning: THOUGHT, toolCalls: [{ id: 'call_1', name: 'current_time', arguments: '{}' }] });
  });

  it.each([...WAYS, 'unclosed_think'] as const)('returns no answer for a reply with only %s reasoning (out of output tokens)', async (way) => {
    fake.script({ kind: 'text', content: '', reasoning: THOUGHT, reasoningAs: way, finishReason: 'length' });
    const { reply, streamed } = await ask();
    expect(reply).toMatchObject({ content: null, reasoning: THOUGHT, finishReason: 'length' });
    if (stream && way !== 'closing_tag') expect(streamed).toBe('');
  });

  it.each(WAYS)('parses structured output after %s reasoning', async (way) => {
    fake.script({ kind: 'text', content: '{"product": 42}', reasoning: THOUGHT, reasoningAs: way });
    const { value } = await chatStructured(modelFor(fake), { messages, schema: z.object({ product: z.number() }), name: 'product' });
    expect(value).toEqual({ product: 42 });
    // One call: the JSON was found behind the thoughts without a corrective retry.
    expect(fake.chatRequests()).toHaveLength(1);
  });
});

describe('reasoning in streams', () => {
  it('holds back later streamed thoughts once the template is seen to open <think> itself', async () => {
    const model = modelFor(fake);
    fake.script(
      { kind: 'text', content: 'First answer.', reasoning: 'First thought.', reasoningAs: 'closing_tag' },
      { kind: 'text', content: 'Second answer.', reasoning: 'Second thought.', reasoningAs: 'closing_tag' },
      { kind: 'text', content: 'No thoughts this time.' },
    );
    const stream = async () => {
      const deltas: string[] = [];
      const reply = await model.chat({ messages, onTextDelta: (t) => deltas.push(t) });
      return { reply, streamed: deltas.join('') };
    };
    // The first reply cannot be known to be thoughts until its `</think>`: what was streamed is not taken back.
    const first = await stream();
    expect(first.reply).toMatchObject({ content: 'First answer.', reasoning: 'First thought.' });
    const second = await stream();
    expect(second.reply).toMatchObject({ content: 'Second answer.', reasoning: 'Second thought.' });
    expect(second.streamed).toBe('Second answer.');
    // Without a closing tag the held text is the answer: it arrives, only later.
    const third = await stream();
    expect(third.reply).toMatchObject({ content: 'No thoughts this time.', reasoning: null });
    expect(third.streamed).toBe('No thoughts this time.');
  });

  it('retries a stream that broke off after reasoning only: no answer text had reached the caller', async () => {
    fake.script(
      { kind: 'text', content: '42', reasoning: THOUGHT, reasoningAs: 'think_tags', stallAfterChunks: 3 },
      { kind: 'text', content: '42', reasoning: THOUGHT, reasoningAs: 'think_tags' },
    );
    const deltas: string[] = [];
    const reply = await modelFor(fake, { timeoutMs: 300 }).chat({ messages, onTextDelta: (t) => deltas.push(t) });
    expect(reply.content).toBe('42');
    expect(deltas.join('')).toBe('42');
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('reads both reasoning fields, preferring `reasoning`, and keeps thoughts sent twice once', async () => {
    // vLLM between PR #27752 and #33402 sent both names; llama.cpp deepseek-legacy sends tags and a field.
    fake.respondWith(() => ({ kind: 'text', content: `<think>\n${THOUGHT}\n</think>\n\n42`, reasoning: THOUGHT, reasoningAs: 'reasoning' }));
    for (const onTextDelta of [undefined, () => undefined]) {
      const reply = await modelFor(fake).chat({ messages, ...(onTextDelta ? { onTextDelta } : {}) });
      expect(reply).toMatchObject({ content: '42', reasoning: THOUGHT });
    }
  });
});
