/**
 * Reasoning models through the whole agent (real openai SDK, fake server, real memory): for
 * every way servers send reasoning (../shared/notes/model-servers.md §3), streamed or not, in
 * each mode, the thoughts reach the step events and nothing else.
 */
import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import type { AgentMode, RunEvent } from '../../src/agent/events.js';
import { DEFAULT_MODE_SETTINGS } from '../../src/agent/modes.js';
import { REASONING_ONLY_NOTE } from '../../src/agent/prompt.js';
import { OpenAiChatModel } from '../../src/llm/client.js';
import type { ChatModel } from '../../src/llm/types.js';
import { silentLogger } from '../../src/log.js';
import type { Memory } from '../../src/memory/memory.js';
import { RunMemory } from '../../src/memory/run-memory.js';
import { builtinTools } from '../../src/tools/builtin/index.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import type { ChatCompletionRequestBody, ScriptedReply } from '../fakes/openai-server.js';
import type { ReasoningWire } from '../fakes/openai-replies.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { useTempMemory } from '../memory/helpers.js';
import { DEFAULT_TEST_LIMITS, formatOf, textOf } from './harness.js';

const fake = useFakeOpenAi();
const mem = useTempMemory();
const ada = { userId: 'u-ada', userName: 'Ada', channelId: 'c-ops', guildId: 'g-1' };
const SECRET = 'SECRET-THOUGHT';
const WAYS: ReasoningWire[] = ['reasoning_content', 'reasoning', 'think_tags', 'closing_tag'];

/** An agent on the real SDK; `deltas` set: every call is streamed and its text deltas kept there. */
function agentWith(memory: Memory, workspaceRoot: string, deltas?: string[]): Agent {
  const log = silentLogger();
  const client = new OpenAiChatModel({ model: 'test-model', baseURL: fake.baseURL, apiKey: 'k', timeoutMs: 5_000, maxRetries: 0, log });
  // The agent itself does not stream: this wrapper makes every one of its calls a stream.
  const model: ChatModel = deltas === undefined ? client : { model: client.model, chat: (request) => client.chat({ ...request, onTextDelta: (t) => deltas.push(t) }) };
  return new Agent({
    model,
    tools: new ToolRegistry(builtinTools()),
    log,
    price: undefined,
    limits: DEFAULT_TEST_LIMITS,
    workspaceRoot,
    modes: DEFAULT_MODE_SETTINGS,
    memory: new RunMemory(memory, log),
  });
}

const isSynthesis = (body: ChatCompletionRequestBody) => textOf(body, 'system').includes('write the final answer from the results');

/** Every reply carries numbered thoughts, sent as `way` says; the agent checks the clock, then answers. */
function scriptThinkingModel(way: ReasoningWire): void {
  let n = 0;
  const thinking = (reply: Extract<ScriptedReply, { kind: 'text' | 'tool_calls' }>): ScriptedReply => {
    n += 1;
    return { ...reply, reasoning: `${SECRET}-${n}: the user wants the time, so I should check the clock first.`, reasoningAs: way };
  };
  fake.respondWith((body) => {
    const format = formatOf(body);
    if (format === 'plan') return thinking({ kind: 'text', content: JSON.stringify({ tasks: [{ id: 't1', title: 'Check the clock', detail: 'Read the time.', dependsOn: [] }] }) });
    if (format === 'completion_check') return thinking({ kind: 'text', content: JSON.stringify({ met: true, missing: '' }) });
    if (isSynthesis(body)) return thinking({ kind: 'text', content: 'It is noon (from the plan).' });
    if (!body.messages.some((m) => m.role === 'tool')) return thinking({ kind: 'tool_calls', content: 'Checking the clock.', calls: [{ name: 'current_time', arguments: { timezone: 'UTC' } }] });
    return thinking({ kind: 'text', content: 'It is noon.' });
  });
}

const ANSWERS: Record<AgentMode, string> = { react: 'It is noon.', plan: 'It is noon (from the plan).', reflexion: 'It is noon.' };

const assistantTexts = (body: ChatCompletionRequestBody): string[] =>
  body.messages.filter((m) => m.role === 'assistant').map((m) => ('content' in m && typeof m.content === 'string' ? m.content : ''));

describe.each([
  { name: 'not streamed', streamed: false },
  { name: 'streamed', streamed: true },
])('a reasoning model, $name', ({ streamed }) => {
  it.each(WAYS)('keeps %s reasoning in the step events and out of answers, memories and prompts', async (way) => {
    const memory = await mem.open();
    const deltas: string[] = [];
    const agent = agentWith(memory, await mem.dir(), streamed ? deltas : undefined);
    scriptThinkingModel(way);
    for (const mode of ['react', 'plan', 'reflexion'] as const) {
      const events: RunEvent[] = [];
      const result = await agent.run({ goal: `What time is it? (${mode})`, mode, scope: ada, trigger: 'slash', sinks: [(e) => void events.push(e)] });
      expect(result, mode).toMatchObject({ status: 'succeeded', answer: ANSWERS[mode], toolCalls: { total: 1, succeeded: 1 } });

      // Each step shows the model's own reasoning, the tool-call turn's included, and its tool ran.
      const steps = events.flatMap((e) => (e.type === 'step' ? [e] : []));
      expect(steps.map((s) => s.decision), mode).toEqual(['tool_calls', 'final']);
      for (const step of steps) expect(step, mode).toMatchObject({ thinking: true, reasoning: expect.stringContaining(SECRET) as string });
      expect(events.some((e) => e.type === 'tool_result' && e.ok && e.tool === 'current_time'), mode).toBe(true);

      await memory.settled();
      const episode = await memory.episodes.get(result.runId);
      expect(episode?.answer, mode).toBe(ANSWERS[mode]);
      // The step summary keeps the reasoning, as the Discord step summary shows it.
      expect(episode?.steps[0]?.reasoning, mode).toContain(SECRET);
    }
    // No prompt ever carries a thought: not as the assistant's text, not recalled from memory.
    for (const body of fake.chatRequests()) {
      expect(JSON.stringify(body.messages)).not.toContain(SECRET);
      for (const text of assistantTexts(body)) expect(text).not.toMatch(/think>|reasoning>/i);
    }
    expect(fake.chatRequests().some((body) => assistantTexts(body).includes('Checking the clock.'))).toBe(true);
    const turns = await memory.semantic.list(`kind = 'turn'`);
    expect(turns.length).toBe(6);
    for (const turn of turns) expect(turn.text).not.toMatch(new RegExp(`${SECRET}|think>`, 'i'));

    if (streamed) {
      const text = deltas.join('');
      expect(text).toContain('It is noon.');
      expect(text).not.toMatch(/<\/?think/i);
      // A template that opens <think> itself shows only at the first `</think>`: that one reply's
      // thoughts were already streamed. Every later reply is held back until its closing tag.
      if (way === 'closing_tag') expect(text.replace(`${SECRET}-1`, '')).not.toContain(SECRET);
      else expect(text).not.toContain(SECRET);
    }
  });

  it.each([...WAYS, 'unclosed_think'] as const)('asks again after a reply with only %s reasoning and no answer', async (way) => {
    const memory = await mem.open();
    fake.script(
      { kind: 'text', content: '', reasoning: `${SECRET}: I keep thinking and run out of tokens before`, reasoningAs: way, finishReason: 'length' },
      { kind: 'text', content: 'Short answer.' },
    );
    const events: RunEvent[] = [];
    const deltas: string[] = [];
    const result = await agentWith(memory, await mem.dir(), streamed ? deltas : undefined).run({ goal: 'Answer briefly', scope: ada, sinks: [(e) => void events.push(e)] });

    expect(result).toMatchObject({ status: 'succeeded', answer: 'Short answer.', steps: 2 });
    const first = events.find((e) => e.type === 'step');
    expect(first).toMatchObject({ step: 1, thinking: true, reasoning: expect.stringContaining(SECRET) as string });
    const again = fake.chatRequests()[1];
    expect(again?.messages.at(-1)).toEqual({ role: 'user', content: REASONING_ONLY_NOTE });
    expect(JSON.stringify(again?.messages)).not.toContain(SECRET);
    if (streamed && way !== 'closing_tag') expect(deltas.join('')).toBe('Short answer.');
  });
});
