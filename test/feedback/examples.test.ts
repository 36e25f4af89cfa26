import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { approachOf, keepApproach } from '../../src/feedback/examples.js';
import { OpenAiChatModel } from '../../src/llm/client.js';
import { silentLogger } from '../../src/log.js';
import { RunMemory } from '../../src/memory/run-memory.js';
import { builtinTools } from '../../src/tools/builtin/index.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import { DEFAULT_TEST_LIMITS } from '../agent/harness.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { useTempMemory } from '../memory/helpers.js';

const fake = useFakeOpenAi();
const mem = useTempMemory();
const scope = { userId: 'u-ada', channelId: 'c-ops', guildId: 'g-1' };

describe('👍 keeps the approach', () => {
  it('recalls the steps that worked for a similar goal, once, and not for an unrelated one', async () => {
    const memory = await mem.open();
    const log = silentLogger();
    const model = new OpenAiChatModel({ model: 'test-model', baseURL: fake.baseURL, apiKey: 'k', timeoutMs: 5_000, maxRetries: 0, log });
    const agent = new Agent({ model, tools: new ToolRegistry(builtinTools()), log, price: undefined, limits: DEFAULT_TEST_LIMITS, workspaceRoot: '/tmp', memory: new RunMemory(memory, log) });
    fake.script(
      { kind: 'tool_calls', calls: [{ name: 'current_time', arguments: { timezone: 'Asia/Tokyo' } }] },
      { kind: 'text', content: 'It is 9:00 in Tokyo.' },
    );
    const run = await agent.run({ goal: 'What time is it in Tokyo right now?', scope });
    const episode = await memory.episodes.get(run.runId);
    if (episode === undefined) throw new Error('episode missing');
    const id = await keepApproach(memory, episode);
    expect(await keepApproach(memory, episode)).toBe(id); // a second 👍 keeps it once
    expect(await memory.semantic.count(`kind = 'lesson'`)).toBe(1);

    fake.script({ kind: 'text', content: 'It is 2:00 in Lima.' }, { kind: 'text', content: 'Pasta.' });
    await agent.run({ goal: 'What time is it in Lima right now?', scope });
    await agent.run({ goal: 'Suggest a dinner recipe', scope });
    const prompt = (n: number) => JSON.stringify(fake.chatRequests()[n]?.messages[0]);
    expect(prompt(2)).toContain('Approach that worked (👍) for “What time is it in Tokyo right now?”: 1. current_time; then answered.');
    expect(prompt(3)).not.toContain('Approach that worked');
  });

  it('keeps a plan run\'s tasks as its approach, and only the successful attempt of a reflexion run', async () => {
    const memory = await mem.open();
    const log = silentLogger();
    const model = new OpenAiChatModel({ model: 'test-model', baseURL: fake.baseURL, apiKey: 'k', timeoutMs: 5_000, maxRetries: 0, log });
    const agent = new Agent({ model, tools: new ToolRegistry(builtinTools()), log, price: undefined, limits: DEFAULT_TEST_LIMITS, workspaceRoot: '/tmp', memory: new RunMemory(memory, log) });
    const tasks = [
      { id: 'clock', title: 'Check the clock in Tokyo', detail: '', dependsOn: [] },
      { id: 'day', title: 'Name the weekday', detail: '', dependsOn: ['clock'] },
    ];
    fake.script(
      { kind: 'text', content: JSON.stringify({ tasks }) },
      { kind: 'tool_calls', calls: [{ name: 'current_time', arguments: { timezone: 'Asia/Tokyo' } }] },
      { kind: 'text', content: 'Sunday 09:00' },
      { kind: 'text', content: 'Sunday' },
      { kind: 'text', content: 'It is Sunday in Tokyo.' },
    );
    const planned = await memory.episodes.get((await agent.run({ goal: 'What day is it in Tokyo?', mode: 'plan', scope })).runId);
    expect(planned === undefined ? '' : approachOf(planned)).toBe(
      'Approach that worked (👍) for “What day is it in Tokyo?”: a plan of 2 tasks: 1. Check the clock in Tokyo (current_time); 2. Name the weekday (no tools); then the answer from their results.',
    );

    fake.script(
      { kind: 'tool_calls', calls: [{ name: 'list_files', arguments: { path: '.' } }] },
      { kind: 'text', content: 'Monday.' },
      { kind: 'text', content: JSON.stringify({ met: false, missing: 'Wrong day.' }) },
      { kind: 'text', content: JSON.stringify({ whatWentWrong: 'Guessed.', nextTime: 'Use the clock.' }) },
      { kind: 'tool_calls', calls: [{ name: 'current_time', arguments: { timezone: 'Asia/Tokyo' } }] },
      { kind: 'text', content: 'Sunday.' },
      { kind: 'text', content: JSON.stringify({ met: true, missing: '' }) },
    );
    const retried = await memory.episodes.get((await agent.run({ goal: 'What day is it in Tokyo?', mode: 'reflexion', scope })).runId);
    expect(retried === undefined ? '' : approachOf(retried)).toBe('Approach that worked (👍) for “What day is it in Tokyo?”: 1. current_time; then answered.');
  });
});
