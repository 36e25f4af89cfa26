import { describe, expect, it } from 'vitest';
import type { ChatMessage, ToolSpec } from '../../src/llm/types.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { modelFor } from './helpers.js';

const fake = useFakeOpenAi();

const messages: ChatMessage[] = [
  { role: 'system', content: 'You are Cairn.' },
  { role: 'user', content: 'What is in my notes?' },
];

const readFile: ToolSpec = {
  name: 'read_file',
  description: 'Read a file from the notes folder',
  parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
};

describe('OpenAiChatModel', () => {
  it('returns the final text with usage and model', async () => {
    fake.script({ kind: 'text', content: 'Three notes.', usage: { prompt: 42, completion: 3 } });
    const reply = await modelFor(fake).chat({ messages, temperature: 0.2, maxOutputTokens: 100 });
    expect(reply).toEqual({
      content: 'Three notes.',
      reasoning: null,
      toolCalls: [],
      usage: { promptTokens: 42, completionTokens: 3 },
      usageEstimated: false,
      finishReason: 'stop',
      model: 'fake-model',
    });
    const sent = fake.chatRequests()[0];
    expect(sent).toMatchObject({ model: 'fake-model', temperature: 0.2, max_completion_tokens: 100 });
    expect(sent?.messages).toEqual([
      { role: 'system', content: 'You are Cairn.' },
      { role: 'user', content: 'What is in my notes?' },
    ]);
    // No tools offered: neither tools nor tool_choice may be sent (some servers reject that).
    expect(sent).not.toHaveProperty('tools');
    expect(sent).not.toHaveProperty('tool_choice');
    expect(sent).not.toHaveProperty('stream');
  });

  it('sends tools and maps tool calls and tool results both ways', async () => {
    fake.script({ kind: 'tool_calls', content: 'Let me look.', calls: [{ name: 'read_file', arguments: { path: 'a.md' }, id: 'call_1' }] });
    const model = modelFor(fake);
    const first = await model.chat({ messages, tools: [readFile] });
    expect(first.content).toBe('Let me look.');
    expect(first.finishReason).toBe('tool_calls');
    expect(first.toolCalls).toEqual([{ id: 'call_1', name: 'read_file', arguments: '{"path":"a.md"}' }]);
    expect(fake.chatRequests()[0]).toMatchObject({
      tools: [{ type: 'function', function: { name: 'read_file', description: readFile.description, parameters: readFile.parameters } }],
      tool_choice: 'auto',
    });

    fake.script({ kind: 'text', content: 'It says hi.' });
    await model.chat({
      messages: [
        ...messages,
        { role: 'assistant', content: first.content, toolCalls: first.toolCalls },
        { role: 'tool', toolCallId: 'call_1', content: 'hi' },
      ],
      tools: [readFile],
    });
    expect(fake.chatRequests()[1]?.messages.slice(2)).toEqual([
      {
        role: 'assistant',
        content: 'Let me look.',
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"a.md"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'hi' },
    ]);
  });

  it('passes malformed tool arguments through untouched for the agent to report', async () => {
    fake.script({ kind: 'tool_calls', calls: [{ name: 'read_file', arguments: '{"path": ' }] });
    const reply = await modelFor(fake).chat({ messages, tools: [readFile] });
    expect(reply.toolCalls[0]?.arguments).toBe('{"path": ');
    expect(reply.content).toBeNull();
  });

  it('streams text deltas in order and returns the assembled reply', async () => {
    const text = 'Stones stacked one on another mark the path.';
    fake.script({ kind: 'text', content: text, chunkDelayMs: 5, usage: { prompt: 10, completion: 9 } });
    const deltas: string[] = [];
    const reply = await modelFor(fake).chat({ messages, onTextDelta: (t) => deltas.push(t) });
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(text);
    expect(reply.content).toBe(text);
    expect(reply.usage).toEqual({ promptTokens: 10, completionTokens: 9 });
    expect(reply.usageEstimated).toBe(false);
    expect(fake.chatRequests()[0]).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('reassembles streamed tool calls whose arguments are split across chunks', async () => {
    fake.script({
      kind: 'tool_calls',
      content: 'Checking both.',
      calls: [
        { name: 'read_file', arguments: { path: 'notes/2024/long-file-name.md' }, id: 'call_x' },
        { name: 'read_file', arguments: '{"path":"b.md"}', id: 'call_y' },
      ],
    });
    const deltas: string[] = [];
    const reply = await modelFor(fake).chat({ messages, tools: [readFile], onTextDelta: (t) => deltas.push(t) });
    expect(deltas.join('')).toBe('Checking both.');
    expect(reply.finishReason).toBe('tool_calls');
    expect(reply.toolCalls).toEqual([
      { id: 'call_x', name: 'read_file', arguments: '{"path":"notes/2024/long-file-name.md"}' },
      { id: 'call_y', name: 'read_file', arguments: '{"path":"b.md"}' },
    ]);
  });

  it('captures reasoning_content, streamed or not, without showing it as text', async () => {
    fake.script(
      { kind: 'text', content: '42', reasoning: 'Six times seven.' },
      { kind: 'text', content: '42', reasoning: 'Six times seven.' },
    );
    const plain = await modelFor(fake).chat({ messages });
    expect(plain.reasoning).toBe('Six times seven.');
    const deltas: string[] = [];
    const streamed = await modelFor(fake).chat({ messages, onTextDelta: (t) => deltas.push(t) });
    expect(streamed.reasoning).toBe('Six times seven.');
    expect(deltas.join('')).toBe('42');
  });

  it('estimates usage when the server sends none', async () => {
    fake.script({ kind: 'no_usage', content: 'abcdefghij' }, { kind: 'no_usage', content: 'abcdefghij' });
    // Two messages: their text plus 16 characters of framing each (see src/llm/tokens.ts).
    const promptChars = 'You are Cairn.'.length + 'What is in my notes?'.length + 2 * 16;
    for (const onTextDelta of [undefined, () => undefined]) {
      const reply = await modelFor(fake).chat({ messages, ...(onTextDelta ? { onTextDelta } : {}) });
      expect(reply.usageEstimated).toBe(true);
      expect(reply.usage).toEqual({ promptTokens: Math.ceil(promptChars / 4), completionTokens: 3 });
    }
  });

  it('sends response_format as a non-strict json_schema', async () => {
    fake.script({ kind: 'text', content: '{"ok":true}' });
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } } };
    await modelFor(fake).chat({ messages, responseFormat: { name: 'verdict', schema } });
    expect(fake.chatRequests()[0]?.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'verdict', schema, strict: false },
    });
  });

  it('works without an API key and sends the key when given', async () => {
    fake.script({ kind: 'text', content: 'a' }, { kind: 'text', content: 'b' });
    await modelFor(fake).chat({ messages });
    await modelFor(fake, { apiKey: 'sk-live-abcdef123456' }).chat({ messages });
    expect(fake.requests[0]?.headers.authorization).toMatch(/^Bearer \S+$/);
    expect(fake.requests[1]?.headers.authorization).toBe('Bearer sk-live-abcdef123456');
  });

  it('lets an exception from onTextDelta reach the caller unchanged, without retrying', async () => {
    fake.script({ kind: 'text', content: 'some text here' });
    const boom = new Error('display failed');
    const result = modelFor(fake).chat({
      messages,
      onTextDelta: () => {
        throw boom;
      },
    });
    await expect(result).rejects.toBe(boom);
    expect(fake.chatRequests()).toHaveLength(1);
  });
});
