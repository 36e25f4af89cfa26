/**
 * Tool calls a model writes as text (no parser on the server: ../shared/notes/model-servers.md §2)
 * run as calls through the whole agent, streamed or not, in every mode; their markup never
 * becomes the answer.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import type { AgentMode } from '../../src/agent/events.js';
import { DEFAULT_MODE_SETTINGS } from '../../src/agent/modes.js';
import { OpenAiChatModel } from '../../src/llm/client.js';
import type { ChatModel } from '../../src/llm/types.js';
import { silentLogger } from '../../src/log.js';
import { builtinTools } from '../../src/tools/builtin/index.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { DEFAULT_TEST_LIMITS, formatOf } from './harness.js';

const fake = useFakeOpenAi();
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function agent(streamed: boolean): Promise<Agent> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-text-calls-'));
  dirs.push(dir);
  const log = silentLogger();
  const client = new OpenAiChatModel({ model: 'test-model', baseURL: fake.baseURL, apiKey: 'k', timeoutMs: 5_000, maxRetries: 0, log });
  const model: ChatModel = streamed ? { model: client.model, chat: (request) => client.chat({ ...request, onTextDelta: () => undefined }) } : client;
  return new Agent({ model, tools: new ToolRegistry(builtinTools()), log, price: undefined, limits: DEFAULT_TEST_LIMITS, workspaceRoot: dir, modes: DEFAULT_MODE_SETTINGS });
}

const FORMATS = {
  hermes: '<tool_call>\n{"name": "current_time", "arguments": {"timezone": "Europe/Oslo"}}\n</tool_call>',
  mistral: '[TOOL_CALLS][{"name": "current_time", "arguments": {"timezone": "Europe/Oslo"}}]',
  llama: '<|python_tag|>{"name": "current_time", "parameters": {"timezone": "Europe/Oslo"}}',
} as const;

describe('tool calls written as text', () => {
  for (const mode of ['react', 'plan', 'reflexion'] as AgentMode[]) {
    for (const [format, markup] of Object.entries(FORMATS)) {
      for (const streamed of [false, true]) {
        it(`${mode}, ${format}${streamed ? ', streamed' : ''}: runs the call and answers without the markup`, async () => {
          let called = false;
          fake.respondWith((body) => {
            const schema = formatOf(body);
            if (schema === 'plan') return { kind: 'text', content: JSON.stringify({ tasks: [{ id: 't1', title: 'Check the clock', detail: 'Read the time in Oslo.', dependsOn: [] }] }) };
            if (schema === 'completion_check') return { kind: 'text', content: JSON.stringify({ met: true, missing: '' }) };
            const sawResult = JSON.stringify(body.messages).includes('"role":"tool"');
            if (!sawResult && !called) {
              called = true;
              return { kind: 'text', content: markup };
            }
            return { kind: 'text', content: 'It is noon in Oslo.' };
          });
          const result = await (await agent(streamed)).run({ goal: 'What time is it in Oslo?', mode });
          expect(result.status).toBe('succeeded');
          expect(result.toolCalls.succeeded).toBeGreaterThanOrEqual(1);
          expect(result.answer).not.toMatch(/tool_call|TOOL_CALLS|python_tag/);
          // The call went back to the model as a call with its result, not as text.
          const withResult = fake.chatRequests().find((b) => JSON.stringify(b.messages).includes('"role":"tool"'));
          expect(JSON.stringify(withResult?.messages)).toContain('"name":"current_time"');
        });
      }
    }
  }

  it('leaves an answer that merely looks like JSON alone', async () => {
    fake.script({ kind: 'text', content: '{"city": "Oslo", "time": "12:00"}' });
    const result = await (await agent(false)).run({ goal: 'Give me the time in Oslo as JSON.' });
    expect(result.answer).toBe('{"city": "Oslo", "time": "12:00"}');
    expect(result.toolCalls.total).toBe(0);
  });
});
