import { describe, expect, it } from 'vitest';
import { parseChunk, StreamAccumulator } from '../../src/llm/stream.js';
import type { ChatRequest } from '../../src/llm/types.js';
import { parseCompletion } from '../../src/llm/wire.js';

const request: ChatRequest = { messages: [{ role: 'user', content: 'hi' }] };

describe('parseCompletion (servers that differ from OpenAI)', () => {
  it('reads `reasoning`, object arguments and missing tool-call ids', () => {
    const parsed = parseCompletion(
      {
        choices: [
          {
            message: {
              content: '',
              reasoning: 'plan',
              tool_calls: [{ function: { name: 'search', arguments: { q: 'x' } } }],
            },
          },
        ],
      },
      request,
      'fallback-model',
    );
    if (!parsed.ok) throw new Error(parsed.issue);
    expect(parsed.response).toMatchObject({
      content: null,
      reasoning: 'plan',
      finishReason: 'tool_calls',
      model: 'fallback-model',
      usageEstimated: true,
    });
    expect(parsed.response.toolCalls[0]).toMatchObject({ name: 'search', arguments: '{"q":"x"}' });
    expect(parsed.response.toolCalls[0]?.id).toMatch(/^call_\w+$/);
  });

  it('explains what is wrong with a non-completion', () => {
    expect(parseCompletion('<html>', request, 'm')).toEqual({ ok: false, issue: 'it is not JSON' });
    expect(parseCompletion({ choices: [{ message: { tool_calls: [{ function: {} }] } }] }, request, 'm')).toMatchObject({
      ok: false,
      issue: expect.stringContaining('choices.0.message.tool_calls.0.function.name') as unknown,
    });
  });
});

describe('StreamAccumulator', () => {
  it('joins tool calls sent without an index by id', () => {
    const acc = new StreamAccumulator();
    const chunks = [
      { choices: [{ delta: { tool_calls: [{ id: 'a', function: { name: 'f', arguments: '{"x"' } }] } }] },
      { choices: [{ delta: { tool_calls: [{ function: { arguments: ':1}' } }] } }] },
      { choices: [{ delta: { tool_calls: [{ id: 'b', function: { name: 'g', arguments: '{}' } }] } }] },
      { choices: [{ delta: {}, finish_reason: 'tool_calls' }], usage: null },
    ];
    for (const value of chunks) {
      const parsed = parseChunk(value);
      if (!parsed.ok) throw new Error(parsed.issue);
      expect(acc.add(parsed.chunk)).toBe('');
    }
    expect(acc.finished).toBe(true);
    expect(acc.reply().toolCalls).toEqual([
      { id: 'a', name: 'f', arguments: '{"x":1}' },
      { id: 'b', name: 'g', arguments: '{}' },
    ]);
  });

  it('rejects a value that is not a chunk', () => {
    expect(parseChunk({ oops: true }).ok).toBe(false);
  });
});
