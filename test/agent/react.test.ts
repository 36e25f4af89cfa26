import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool } from '../../src/tools/registry.js';
import { recorder, toolMessages, useHarness } from './harness.js';

const h = useHarness();

describe('agent run (ReAct on native tool calling)', () => {
  it('calls a tool, feeds the result back, and returns the final answer', async () => {
    h.fake.script(
      { kind: 'tool_calls', content: 'I will check the clock.', calls: [{ id: 'call_a', name: 'current_time', arguments: { timezone: 'Asia/Tokyo' } }] },
      { kind: 'text', content: 'It is morning in Tokyo.' },
    );
    const { events, sink } = recorder();
    const result = await h.agent().run({ goal: 'What time is it in Tokyo?', sinks: [sink] });

    expect(result).toMatchObject({ status: 'succeeded', answer: 'It is morning in Tokyo.', steps: 2, toolCalls: { total: 1, succeeded: 1 } });
    expect(events.map((e) => e.type)).toEqual(['started', 'step', 'tool_call', 'tool_result', 'step', 'final']);
    const step1 = events[1];
    expect(step1?.type === 'step' && step1.reasoning).toBe('I will check the clock.');

    const [first, second] = h.fake.chatRequests();
    expect(first?.tools?.map((t) => t.function.name)).toEqual(expect.arrayContaining(['current_time', 'read_file', 'write_file', 'list_files']));
    expect(first?.messages.at(-1)).toMatchObject({ role: 'user', content: 'What time is it in Tokyo?' });
    // The observation goes back tied to the call it answers.
    const toolMessage = second?.messages.find((m) => m.role === 'tool');
    expect(toolMessage).toMatchObject({ tool_call_id: 'call_a' });
    expect(toolMessages(second ?? { messages: [] })[0]).toContain('Asia/Tokyo');
  });

  it('uses the file tools inside the run workspace', async () => {
    h.fake.script(
      { kind: 'tool_calls', calls: [{ name: 'write_file', arguments: { path: 'notes/plan.md', content: '# Plan\n1. ship' } }] },
      { kind: 'tool_calls', calls: [{ name: 'read_file', arguments: { path: 'notes/plan.md' } }] },
      { kind: 'text', content: 'Saved the plan.' },
    );
    const result = await h.agent().run({ goal: 'Write a plan' });
    expect(result.status).toBe('succeeded');
    expect(result.workspaceDir).toBe(path.join(h.workspaceRoot, result.runId));
    expect(await readFile(path.join(result.workspaceDir, 'notes/plan.md'), 'utf8')).toBe('# Plan\n1. ship');
    expect(toolMessages(h.fake.chatRequests()[2] ?? { messages: [] }).join('\n')).toContain('1. ship');
  });

  it('lets the model correct invalid arguments: the run goes on', async () => {
    h.fake.script(
      { kind: 'tool_calls', calls: [{ name: 'read_file', arguments: '{"path": ' }] },
      { kind: 'tool_calls', calls: [{ name: 'current_time', arguments: { timezone: 42 } }] },
      { kind: 'tool_calls', calls: [{ name: 'current_time', arguments: { timezone: 'UTC' } }] },
      { kind: 'text', content: 'Done after fixing my calls.' },
    );
    const { events, sink } = recorder();
    const result = await h.agent().run({ goal: 'Tell me the time', sinks: [sink] });

    expect(result).toMatchObject({ status: 'succeeded', toolCalls: { total: 3, succeeded: 1 } });
    const errors = events.flatMap((e) => (e.type === 'tool_result' && !e.ok ? [e.errorKind] : []));
    expect(errors).toEqual(['invalid_arguments', 'invalid_arguments']);
    const requests = h.fake.chatRequests();
    expect(toolMessages(requests[1] ?? { messages: [] }).at(-1)).toMatch(/not valid JSON/i);
    expect(toolMessages(requests[2] ?? { messages: [] }).at(-1)).toMatch(/timezone/);
  });

  it('tells the model about an unknown tool and lists the real ones', async () => {
    h.fake.script(
      { kind: 'tool_calls', calls: [{ name: 'fetch_weather', arguments: { city: 'Oslo' } }] },
      { kind: 'text', content: 'I cannot fetch weather.' },
    );
    const result = await h.agent().run({ goal: 'Weather in Oslo?' });
    expect(result.status).toBe('succeeded');
    const observation = toolMessages(h.fake.chatRequests()[1] ?? { messages: [] })[0] ?? '';
    expect(observation).toContain('fetch_weather');
    expect(observation).toContain('current_time');
  });

  it('keeps going after a tool throws, without leaking a stack trace to the model', async () => {
    const flaky = defineTool({
      name: 'flaky',
      description: 'Always fails.',
      input: z.object({}),
      risk: 'low',
      run: () => Promise.reject(new Error('disk on fire')),
    });
    h.fake.script({ kind: 'tool_calls', calls: [{ name: 'flaky', arguments: {} }] }, { kind: 'text', content: 'It failed.' });
    const result = await h.agent({ extraTools: [flaky] }).run({ goal: 'Try flaky' });
    expect(result).toMatchObject({ status: 'succeeded', toolCalls: { total: 1, succeeded: 0 } });
    const observation = toolMessages(h.fake.chatRequests()[1] ?? { messages: [] })[0] ?? '';
    expect(observation).toContain('disk on fire');
    expect(observation).not.toMatch(/\n\s+at /);
  });

  it('retries a 429 from the model server and completes', async () => {
    h.fake.script({ kind: 'error', status: 429, retryAfterMs: 10 }, { kind: 'text', content: 'Here after a retry.' });
    const result = await h.agent().run({ goal: 'Say hi' });
    expect(result).toMatchObject({ status: 'succeeded', answer: 'Here after a retry.', steps: 1 });
    expect(h.fake.chatRequests()).toHaveLength(2);
  });

  it('fails with an actionable reason when the server refuses the key', async () => {
    h.fake.script({ kind: 'error', status: 401, message: 'bad key' });
    const { events, sink } = recorder();
    const result = await h.agent().run({ goal: 'Say hi', sinks: [sink] });
    expect(result.status).toBe('failed');
    expect(result.reason).toMatch(/OPENAI_API_KEY/);
    expect(events.some((e) => e.type === 'error')).toBe(true);
    expect(h.fake.chatRequests()).toHaveLength(1);
  });

  it('asks again when the model replies with nothing', async () => {
    h.fake.script({ kind: 'text', content: '' }, { kind: 'text', content: 'Now an answer.' });
    const result = await h.agent().run({ goal: 'Answer me' });
    expect(result).toMatchObject({ status: 'succeeded', answer: 'Now an answer.', steps: 2 });
    const nudge = h.fake.chatRequests()[1]?.messages.at(-1);
    expect(nudge?.role).toBe('user');
    expect(JSON.stringify(nudge)).toMatch(/reply was empty/);
  });

  it('survives a sink that throws or rejects', async () => {
    h.fake.script({ kind: 'text', content: 'Fine.' });
    const result = await h.agent().run({
      goal: 'Hello',
      sinks: [
        () => {
          throw new Error('renderer broke');
        },
        () => Promise.reject(new Error('async renderer broke')),
      ],
    });
    expect(result.status).toBe('succeeded');
  });

  it('refuses an empty goal', async () => {
    await expect(h.agent().run({ goal: '   ' })).rejects.toThrow(/goal is empty/);
  });
});
