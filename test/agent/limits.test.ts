import { describe, expect, it } from 'vitest';
import { LAST_STEP_NOTE } from '../../src/agent/prompt.js';
import { recorder, toolMessages, useHarness } from './harness.js';

const h = useHarness();

/** A model that never stops calling tools, with different arguments each time. */
function endlessToolCalls(usage?: { prompt: number; completion: number }) {
  h.fake.respondWith((_body, index) => ({
    kind: 'tool_calls',
    calls: [{ name: 'list_files', arguments: { path: `dir-${index}` } }],
    ...(usage === undefined ? {} : { usage }),
  }));
}

describe('run limits', () => {
  it('stops at the step limit, after asking for a final answer on the last step', async () => {
    endlessToolCalls();
    const { events, sink } = recorder();
    const result = await h.agent({ limits: { maxSteps: 3 } }).run({ goal: 'Explore forever', sinks: [sink] });
    expect(result).toMatchObject({ status: 'stopped', limit: 'steps', steps: 3, maxSteps: 3 });
    expect(result.reason).toMatch(/3 steps/);
    const requests = h.fake.chatRequests();
    expect(requests).toHaveLength(3);
    expect(requests[2]?.messages.at(-1)).toMatchObject({ role: 'user', content: LAST_STEP_NOTE });
    expect(requests[1]?.messages.at(-1)?.role).toBe('tool');
    expect(events.filter((e) => e.type === 'limit')).toHaveLength(1);
    // The last step's tool call is not executed: there is no step left to read its result.
    expect(result.toolCalls.total).toBe(2);
  });

  it('stops when the token budget is spent', async () => {
    endlessToolCalls({ prompt: 5_000, completion: 100 });
    const result = await h.agent({ limits: { maxTokens: 8_000 } }).run({ goal: 'Use many tokens' });
    expect(result).toMatchObject({ status: 'stopped', limit: 'tokens' });
    expect(result.usage.promptTokens + result.usage.completionTokens).toBeGreaterThan(8_000);
    expect(result.steps).toBe(2);
  });

  it('does not start a call whose prompt alone would exceed the token budget', async () => {
    endlessToolCalls({ prompt: 900, completion: 50 });
    const result = await h.agent({ limits: { maxTokens: 1_000 } }).run({ goal: 'x'.repeat(6_000) });
    expect(result).toMatchObject({ status: 'stopped', limit: 'tokens', steps: 0 });
    expect(h.fake.chatRequests()).toHaveLength(0);
  });

  it('stops when the estimated cost exceeds the budget, and reports the cost', async () => {
    endlessToolCalls({ prompt: 1_000, completion: 0 });
    // $1,000 per million tokens: each step costs $1.
    const result = await h.agent({ limits: { maxCostUsd: 1.5 }, price: { inputPerMTok: 1_000, outputPerMTok: 1_000 } }).run({ goal: 'Spend' });
    expect(result).toMatchObject({ status: 'stopped', limit: 'cost', steps: 2 });
    expect(result.costUsd).toBeCloseTo(2, 5);
  });

  it('reports cost as unknown (null) when the model has no price', async () => {
    h.fake.script({ kind: 'text', content: 'ok', usage: { prompt: 10, completion: 5 } });
    const result = await h.agent().run({ goal: 'Hi' });
    expect(result.costUsd).toBeNull();
    expect(result.usage).toEqual({ promptTokens: 10, completionTokens: 5 });
  });

  it('stops on the wall-clock limit even while the model is not answering', async () => {
    h.fake.script({ kind: 'hang' });
    const started = Date.now();
    const result = await h.agent({ limits: { maxDurationMs: 300 } }).run({ goal: 'Wait forever' });
    expect(result).toMatchObject({ status: 'stopped', limit: 'time' });
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe('loop guard', () => {
  it('warns on the first repeat of the same call and stops on the second', async () => {
    // Same tool, same arguments, different key order and spacing: still the same call.
    const variants = ['{"path":"a","recursive":false}', '{"recursive": false, "path": "a"}', '{ "path":"a", "recursive":false }'];
    h.fake.respondWith((_body, index) => ({ kind: 'tool_calls', calls: [{ name: 'list_files', arguments: variants[index % 3] ?? '{}' }] }));
    const { events, sink } = recorder();
    const result = await h.agent().run({ goal: 'Loop', sinks: [sink] });

    expect(result).toMatchObject({ status: 'stopped', limit: 'loop', steps: 3 });
    expect(result.toolCalls.total).toBe(2);
    const second = h.fake.chatRequests()[2];
    expect(toolMessages(second ?? { messages: [] }).at(-1)).toMatch(/already made this exact call.*step 1/);
    expect(events.find((e) => e.type === 'limit')).toMatchObject({ limit: 'loop' });
  });
});

describe('cancellation', () => {
  it('stops promptly when cancelled mid-call, keeping the last words', async () => {
    h.fake.script(
      { kind: 'tool_calls', content: 'Looking around first.', calls: [{ name: 'list_files', arguments: {} }] },
      { kind: 'hang' },
    );
    const controller = new AbortController();
    const started = Date.now();
    const result = await h.agent().run({
      goal: 'Cancel me',
      signal: controller.signal,
      sinks: [
        (e) => {
          if (e.type === 'tool_result') {
            setTimeout(() => {
              controller.abort();
            }, 50);
          }
        },
      ],
    });
    expect(result).toMatchObject({ status: 'stopped', limit: 'cancelled', answer: 'Looking around first.', reason: 'Cancelled.' });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('does not call the model when cancelled before the start', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await h.agent().run({ goal: 'Never', signal: controller.signal });
    expect(result).toMatchObject({ status: 'stopped', limit: 'cancelled', steps: 0 });
    expect(h.fake.chatRequests()).toHaveLength(0);
  });
});

describe('bounded context', () => {
  it('keeps a 40-step prompt within twice a 5-step prompt, with earlier steps condensed', async () => {
    const bulky = (i: number) => `record ${i}: ${'status ok, latency fine; '.repeat(60)}`;
    h.fake.respondWith((_body, index) =>
      index < 40
        ? { kind: 'tool_calls', content: `Step ${index + 1}: writing note ${index}.`, calls: [{ name: 'write_file', arguments: { path: `n${index}.txt`, content: bulky(index) } }] }
        : { kind: 'text', content: 'All notes written.' },
    );
    const result = await h.agent({ limits: { maxSteps: 50 } }).run({ goal: 'Write 40 notes' });
    expect(result).toMatchObject({ status: 'succeeded', steps: 41 });

    const requests = h.fake.chatRequests();
    const size = (i: number) => JSON.stringify(requests[i]?.messages).length;
    expect(size(40)).toBeLessThanOrEqual(2 * size(4));
    const last = requests[40]?.messages ?? [];
    expect(last[0]?.role).toBe('system');
    expect(last[1]).toMatchObject({ role: 'user', content: 'Write 40 notes' });
    expect(JSON.stringify(last[2])).toMatch(/earlier steps, condensed/);
    // Every tool message still directly answers a call in the assistant message before it.
    for (let i = 0; i < last.length; i++) {
      const m = last[i];
      if (m?.role !== 'tool') continue;
      const owner = last.slice(0, i).reverse().find((x) => x.role === 'assistant');
      expect(JSON.stringify(owner)).toContain(String((m as { tool_call_id?: string }).tool_call_id));
    }
  });
});
