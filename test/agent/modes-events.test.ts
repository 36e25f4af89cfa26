import { describe, expect, it } from 'vitest';
import { AGENT_MODES } from '../../src/agent/agent.js';
import type { AgentMode, RunEvent, RunResult } from '../../src/agent/events.js';
import type { ChatCompletionRequestBody, ScriptedReply } from '../fakes/openai-server.js';
import { formatOf, recorder, useHarness } from './harness.js';

const h = useHarness();

/** One model for every mode: plans one task, calls one tool, then answers; checks pass. */
function model(options: { answer: boolean }) {
  return (body: ChatCompletionRequestBody): ScriptedReply => {
    const format = formatOf(body);
    if (format === 'plan') return { kind: 'text', content: JSON.stringify({ tasks: [{ id: 't1', title: 'Tell the time', detail: 'Use the clock.', dependsOn: [] }] }) };
    if (format === 'completion_check') return { kind: 'text', content: JSON.stringify({ met: true, missing: '' }) };
    const sawTool = body.messages.some((m) => m.role === 'tool');
    if (!sawTool || !options.answer) return { kind: 'tool_calls', calls: [{ name: 'current_time', arguments: {} }] };
    return { kind: 'text', content: 'It is now.' };
  };
}

/**
 * The contract every surface relies on, whatever the mode: one `started` first and one `final`
 * last; steps numbered 1..n in order; each tool call inside its step and answered by its result;
 * a `limit` event exactly when the result names a limit, just before `final`.
 */
function expectContract(events: RunEvent[], mode: AgentMode): RunResult {
  const first = events[0];
  const last = events.at(-1);
  expect(first).toMatchObject({ type: 'started', mode });
  expect(last?.type).toBe('final');
  if (last?.type !== 'final') throw new Error('no final event');
  const { result } = last;
  expect(result.mode).toBe(mode);
  expect(events.filter((e) => e.type === 'started' || e.type === 'final')).toHaveLength(2);
  expect(events.every((e) => e.runId === result.runId)).toBe(true);

  const elapsed = events.map((e) => e.elapsedMs);
  expect(elapsed).toEqual([...elapsed].sort((a, b) => a - b));
  const steps = events.flatMap((e) => (e.type === 'step' ? [e.step] : []));
  expect(steps).toEqual(Array.from({ length: result.steps }, (_, i) => i + 1));

  let currentStep: Extract<RunEvent, { type: 'step' }> | undefined;
  const open = new Map<string, string>();
  for (const event of events) {
    if (event.type === 'step') currentStep = event;
    if (event.type === 'tool_call') {
      expect(currentStep?.step).toBe(event.step);
      expect(currentStep?.toolNames).toContain(event.tool);
      open.set(event.callId, event.tool);
    }
    if (event.type === 'tool_result') {
      expect(open.get(event.callId)).toBe(event.tool);
      open.delete(event.callId);
    }
  }
  expect(open.size).toBe(0);
  expect(events.filter((e) => e.type === 'tool_result')).toHaveLength(result.toolCalls.total);

  const limits = events.filter((e) => e.type === 'limit');
  if (result.limit === undefined) expect(limits).toHaveLength(0);
  else {
    expect(limits).toMatchObject([{ limit: result.limit }]);
    expect(events.at(-2)?.type).toBe('limit');
  }
  return result;
}

describe('every mode emits the same events', () => {
  it.each(AGENT_MODES)('%s: a run that calls a tool and answers', async (mode) => {
    h.fake.respondWith(model({ answer: true }));
    const { events, sink } = recorder();
    await h.agent().run({ goal: 'What time is it?', mode, sinks: [sink] });
    const result = expectContract(events, mode);
    expect(result).toMatchObject({ status: 'succeeded', answer: expect.stringContaining('It is now.') as unknown, toolCalls: { total: 1, succeeded: 1 } });
    expect(new Set(events.map((e) => e.type))).toEqual(
      new Set(['started', 'step', 'tool_call', 'tool_result', 'final', ...(mode === 'react' ? [] : ['stage'])]),
    );
  });

  it.each(AGENT_MODES)('%s: a run stopped by the step limit', async (mode) => {
    h.fake.respondWith(model({ answer: false }));
    const { events, sink } = recorder();
    await h.agent({ limits: { maxSteps: 2 } }).run({ goal: 'What time is it?', mode, sinks: [sink] });
    const result = expectContract(events, mode);
    expect(result).toMatchObject({ status: 'stopped', limit: 'steps', steps: 2 });
  });

  it.each(AGENT_MODES)('%s: a cancelled run', async (mode) => {
    const controller = new AbortController();
    h.fake.respondWith((body) => {
      if (body.messages.some((m) => m.role === 'tool')) controller.abort();
      return { ...model({ answer: true })(body), delayMs: 20 } as ScriptedReply;
    });
    const { events, sink } = recorder();
    await h.agent().run({ goal: 'What time is it?', mode, sinks: [sink], signal: controller.signal });
    const result = expectContract(events, mode);
    expect(result).toMatchObject({ status: 'stopped', limit: 'cancelled', reason: 'Cancelled.' });
  });
});
