import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import type { RunEvent } from '../../src/agent/events.js';
import { OpenAiChatModel } from '../../src/llm/client.js';
import { silentLogger } from '../../src/log.js';
import type { Memory } from '../../src/memory/memory.js';
import { ModelQueryRewriter } from '../../src/memory/query/rewrite.js';
import { RunMemory } from '../../src/memory/run-memory.js';
import { builtinTools } from '../../src/tools/builtin/index.js';
import { memoryTools } from '../../src/tools/memory.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import { DEFAULT_TEST_LIMITS } from '../agent/harness.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { useTempMemory } from './helpers.js';

const fake = useFakeOpenAi();
const mem = useTempMemory();
const ada = { userId: 'u-ada', userName: 'Ada', channelId: 'c-ops', guildId: 'g-1' };

function agentWith(memory: Memory, workspaceRoot: string, options: { rewrite?: boolean; limits?: typeof DEFAULT_TEST_LIMITS } = {}): Agent {
  const log = silentLogger();
  const model = new OpenAiChatModel({ model: 'test-model', baseURL: fake.baseURL, apiKey: 'k', timeoutMs: 5_000, maxRetries: 0, log });
  const rewriter = options.rewrite === true ? new ModelQueryRewriter(model, log) : undefined;
  return new Agent({
    model,
    tools: new ToolRegistry([...builtinTools(), ...memoryTools(memory, rewriter === undefined ? {} : { rewriter })]),
    log,
    price: undefined,
    limits: options.limits ?? DEFAULT_TEST_LIMITS,
    workspaceRoot,
    memory: new RunMemory(memory, log),
  });
}

const systemPromptOf = (index: number): string => {
  const first = fake.chatRequests()[index]?.messages[0];
  return first !== undefined && 'content' in first && typeof first.content === 'string' ? first.content : '';
};

describe('runs with memory', () => {
  it('recalls in a later run, after a restart, a fact an earlier run saved', async () => {
    const dir = await mem.dir();
    let memory = await mem.open();
    fake.script(
      { kind: 'tool_calls', calls: [{ name: 'memory_save', arguments: { text: 'The ops team deploys on Tuesdays at 14:00 UTC.' } }] },
      { kind: 'text', content: 'Noted: deploys are on Tuesdays.' },
    );
    const first = await agentWith(memory, dir).run({ goal: 'Remember that we deploy on Tuesdays at 14:00 UTC', scope: ada, trigger: 'slash' });
    expect(first.status).toBe('succeeded');
    expect(JSON.stringify(fake.chatRequests()[1]?.messages)).toMatch(/Saved as m-.*\(channel\)/);
    await memory.close();

    memory = await mem.open();
    fake.reset();
    fake.script({ kind: 'text', content: 'We deploy on Tuesdays at 14:00 UTC.' });
    const events: RunEvent[] = [];
    const second = await agentWith(memory, dir).run({
      goal: 'When do we deploy?',
      scope: { ...ada, userId: 'u-bob', userName: 'Bob' },
      sinks: [(e) => void events.push(e)],
    });
    expect(second.status).toBe('succeeded');
    const prompt = systemPromptOf(0);
    expect(prompt).toContain('The ops team deploys on Tuesdays at 14:00 UTC.');
    expect(prompt).toMatch(/\[channel notes — shared in this channel, anyone here can edit it · 0\/4000 characters\]/);
    expect(events[0]).toMatchObject({ type: 'started', memory: { memories: expect.any(Number) as number } });
  });

  it('charges memory_search\'s query rewriting to the run, and skips it when the budget cannot pay for it', async () => {
    const memory = await mem.open();
    const search = { kind: 'tool_calls' as const, calls: [{ name: 'memory_search', arguments: { query: 'When do we deploy?' } }], usage: { prompt: 300, completion: 20 } };
    const answer = { kind: 'text' as const, content: 'No idea yet.', usage: { prompt: 400, completion: 10 } };
    fake.script(search, { kind: 'text', content: '{"queries": ["deploy day"]}', usage: { prompt: 120, completion: 9 } }, answer);
    const run = await agentWith(memory, await mem.dir(), { rewrite: true }).run({ goal: 'When do we deploy?', scope: ada });
    expect(run.status).toBe('succeeded');
    expect(JSON.stringify(fake.chatRequests()[1]?.messages)).toContain('keyword searches');
    expect(run.usage).toEqual({ promptTokens: 820, completionTokens: 39 });

    // After a first step of 1,950 tokens a limit of 2,000 leaves no room for the rewrite (estimated at twice its prompt):
    // memory_search answers offline, and the run then stops at the limit.
    fake.reset();
    fake.script({ ...search, usage: { prompt: 1_940, completion: 10 } }, answer);
    const tight = await agentWith(memory, await mem.dir(), { rewrite: true, limits: { ...DEFAULT_TEST_LIMITS, maxTokens: 2_000 } }).run({ goal: 'When do we deploy?', scope: ada });
    expect(fake.chatRequests()).toHaveLength(1);
    expect(tight).toMatchObject({ status: 'stopped', usage: { promptTokens: 1_940, completionTokens: 10 } });
  });

  it('keeps each run as an episode with its step summaries, and its goal and answer as turns', async () => {
    const memory = await mem.open();
    fake.script(
      { kind: 'tool_calls', content: 'Checking the time.', calls: [{ name: 'current_time', arguments: {} }] },
      { kind: 'text', content: 'It is noon.' },
    );
    const result = await agentWith(memory, await mem.dir()).run({ goal: 'What time is it?', scope: ada, trigger: 'slash' });
    await memory.settled(); // the episode and turns are written after the run has answered
    const episode = await memory.episodes.get(result.runId);
    expect(episode).toMatchObject({
      goal: 'What time is it?',
      trigger: 'slash',
      status: 'succeeded',
      answer: 'It is noon.',
      steps: [
        { step: 1, decision: 'tool_calls', reasoning: 'Checking the time.', tools: [{ name: 'current_time', ok: true }] },
        { step: 2, decision: 'final', reasoning: null, tools: [] },
      ],
    });
    const turns = await memory.semantic.list(`kind = 'turn'`);
    expect(turns.map((t) => [t.speaker, t.text, t.scopeKey, t.sourceRunId])).toEqual([
      ['Cairn', 'It is noon.', 'channel:c-ops', result.runId],
      ['Ada', 'What time is it?', 'channel:c-ops', result.runId],
    ]);
  });

  it('lets the agent keep working memory current, and shows it to the next run', async () => {
    const memory = await mem.open();
    fake.script(
      { kind: 'tool_calls', calls: [{ name: 'working_memory_append', arguments: { block: 'user profile', text: 'Prefers answers in French.' } }] },
      { kind: 'text', content: 'Compris.' },
      { kind: 'text', content: 'Bonjour !' },
    );
    const agent = agentWith(memory, await mem.dir());
    await agent.run({ goal: 'Answer me in French from now on', scope: ada });
    await agent.run({ goal: 'Say hello', scope: ada });
    expect(systemPromptOf(2)).toMatch(/\[user profile — private to this user · 26\/2000 characters\]\nPrefers answers in French\./);
  });

  it('never shows one user’s private memories to another user’s run', async () => {
    const memory = await mem.open();
    await memory.semantic.save({ text: 'My salary is 95k', kind: 'fact', scope: ada, visibility: 'private' });
    fake.script({ kind: 'text', content: 'I do not know.' });
    await agentWith(memory, await mem.dir()).run({ goal: 'What is the salary?', scope: { userId: 'u-bob', channelId: 'c-ops', guildId: 'g-1' } });
    expect(systemPromptOf(0)).not.toContain('95k');
  });
});
