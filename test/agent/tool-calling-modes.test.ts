/**
 * CAIRN_TOOL_CALLING through the agent and the real openai SDK: prompt mode runs tools from JSON
 * actions in every agent mode; auto mode moves to prompt mode when a server refuses `tools` in
 * its own words (../shared/notes/model-servers.md §2) without a failed step; native mode keeps
 * today's behaviour.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import type { AgentMode, RunEvent } from '../../src/agent/events.js';
import { DEFAULT_MODE_SETTINGS } from '../../src/agent/modes.js';
import { ToolCallingModel, type PromptModeModels, type ToolCallingSetting } from '../../src/llm/adaptive-tools.js';
import { OpenAiChatModel } from '../../src/llm/client.js';
import { createLogger } from '../../src/log.js';
import { builtinTools } from '../../src/tools/builtin/index.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import { llamaCppNoJinja, ollamaNoTools, openAiContextOverflow, openRouterNoToolEndpoints, vllmFlatError, vllmNoAutoToolChoice } from '../fakes/openai-error-bodies.js';
import type { ChatCompletionRequestBody, ScriptedReply } from '../fakes/openai-server.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { DEFAULT_TEST_LIMITS, formatOf, textOf } from './harness.js';

const fake = useFakeOpenAi();
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

interface Built {
  agent: Agent;
  model: ToolCallingModel;
  warnings: string[];
}

async function build(setting: ToolCallingSetting, options: { switched?: PromptModeModels; maxRetries?: number; streamed?: boolean } = {}): Promise<Built> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-tool-calling-'));
  dirs.push(dir);
  const warnings: string[] = [];
  const log = createLogger({ level: 'warn', pretty: false, destination: { write: (line: string) => void warnings.push(line) } });
  const client = new OpenAiChatModel({ model: 'test-model', baseURL: fake.baseURL, apiKey: 'k', timeoutMs: 5_000, maxRetries: options.maxRetries ?? 0, retryBaseDelayMs: 5, log });
  const model = new ToolCallingModel(client, { setting, log, switched: options.switched ?? new Map() });
  const chatModel = options.streamed === true ? { model: model.model, chat: (request: Parameters<ToolCallingModel['chat']>[0]) => model.chat({ ...request, onTextDelta: () => undefined }) } : model;
  const agent = new Agent({ model: chatModel, tools: new ToolRegistry(builtinTools()), log, price: undefined, limits: DEFAULT_TEST_LIMITS, workspaceRoot: dir, modes: DEFAULT_MODE_SETTINGS });
  return { agent, model, warnings };
}

const carriesTools = (body: ChatCompletionRequestBody): boolean => (body.tools?.length ?? 0) > 0 || 'tool_choice' in body;
const lastUser = (body: ChatCompletionRequestBody): string => {
  const message = body.messages.findLast((m) => m.role === 'user');
  return message !== undefined && 'content' in message && typeof message.content === 'string' ? message.content : '';
};
const action = (value: Record<string, unknown>, usage?: { prompt: number; completion: number }): ScriptedReply => ({ kind: 'text', content: JSON.stringify(value), ...(usage ? { usage } : {}) });
const CALL = { action: 'call', tool: 'current_time', arguments: { timezone: 'Europe/Oslo' } };
const FINAL = { action: 'final', answer: 'It is noon in Oslo.' };

/**
 * A model that, given its tools in the prompt, calls current_time once and then answers; plan
 * and check calls get their JSON, and turns without tools in the prompt (synthesis) get prose.
 */
function promptModel(refusal?: ScriptedReply): (body: ChatCompletionRequestBody) => ScriptedReply {
  return (body) => {
    if (carriesTools(body) && refusal !== undefined) return refusal;
    const schema = formatOf(body);
    if (schema === 'plan') return { kind: 'text', content: JSON.stringify({ tasks: [{ id: 't1', title: 'Check the clock', detail: 'Read the time in Oslo.', dependsOn: [] }] }) };
    if (schema === 'completion_check') return { kind: 'text', content: JSON.stringify({ met: true, missing: '' }) };
    if (!textOf(body, 'system').includes('## Tools')) return { kind: 'text', content: 'It is noon in Oslo.' };
    return action(lastUser(body).includes('Observation from current_time:') ? FINAL : CALL);
  };
}

const errors = (events: RunEvent[]) => events.filter((e) => e.type === 'error');

describe('CAIRN_TOOL_CALLING=prompt', () => {
  for (const mode of ['react', 'plan', 'reflexion'] as AgentMode[]) {
    for (const streamed of [false, true]) {
      it(`${mode}${streamed ? ', streamed' : ''}: runs a tool from a JSON action and answers, sending no tools`, async () => {
        fake.respondWith(promptModel());
        const { agent, model } = await build('prompt', { streamed });
        const result = await agent.run({ goal: 'What time is it in Oslo?', mode });
        expect(result).toMatchObject({ status: 'succeeded', answer: 'It is noon in Oslo.' });
        expect(result.toolCalls.succeeded).toBe(1);
        expect(model.toolCalling).toEqual({ setting: 'prompt', mode: 'prompt', reason: null });
        const requests = fake.chatRequests();
        expect(requests.some(carriesTools)).toBe(false);
        // The call and its result went back as plain turns: no tool roles, no tool_calls.
        const afterCall = requests.find((b) => lastUser(b).includes('Observation from current_time:'));
        expect(afterCall).toBeDefined();
        expect(JSON.stringify(afterCall?.messages)).not.toMatch(/"role":"tool"|tool_calls/);
        expect(JSON.stringify(afterCall?.messages)).toContain(JSON.stringify(JSON.stringify(CALL)).slice(1, -1));
        expect(textOf(afterCall, 'system')).toContain('- current_time: ');
      });
    }
  }

  it('sends an invalid action back with the exact problem, runs the next valid one, and sums the usage', async () => {
    const usage = { prompt: 10, completion: 5 };
    fake.script(action({ action: 'call', tool: 'clock' }, usage), action(CALL, usage), action(FINAL, usage));
    const { agent } = await build('prompt');
    const result = await agent.run({ goal: 'What time is it in Oslo?' });
    expect(result).toMatchObject({ status: 'succeeded', answer: 'It is noon in Oslo.', steps: 2, toolCalls: { total: 1, succeeded: 1 } });
    expect(result.usage).toEqual({ promptTokens: 30, completionTokens: 15 });
    const corrected = fake.chatRequests()[1];
    expect(corrected === undefined ? '' : lastUser(corrected)).toContain('Observation: your last reply is not a valid action: there is no tool named "clock"; the tools are: ');
    expect(corrected?.messages.at(-2)).toMatchObject({ role: 'assistant', content: JSON.stringify({ action: 'call', tool: 'clock' }) });
  });

  it('fails the step with the problem when the corrections do not help', async () => {
    fake.script(...Array.from({ length: 3 }, () => ({ kind: 'text', content: '{"action": "call", "tool": "current_time", "arguments": ' }) as const));
    const { agent } = await build('prompt');
    const result = await agent.run({ goal: 'What time is it in Oslo?' });
    expect(result.status).toBe('failed');
    expect(result.reason).toMatch(/did not reply with a valid action after 2 corrections .*: the JSON is not valid/);
    expect(fake.chatRequests()).toHaveLength(3);
  });

  it('takes prose as the answer once the corrections run out', async () => {
    fake.script(...Array.from({ length: 3 }, () => ({ kind: 'text', content: 'It is noon in Oslo.' }) as const));
    const { agent } = await build('prompt');
    const result = await agent.run({ goal: 'What time is it in Oslo?' });
    expect(result).toMatchObject({ status: 'succeeded', answer: 'It is noon in Oslo.' });
  });
});

const REFUSALS: [string, ScriptedReply, string][] = [
  ['Ollama', ollamaNoTools(), 'registry.ollama.ai/library/gemma3:4b does not support tools'],
  ['vLLM', vllmNoAutoToolChoice, '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'],
  ['vLLM ≤0.10.0 (flat body)', vllmFlatError(400, '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'), '--enable-auto-tool-choice'],
  ['OpenRouter', openRouterNoToolEndpoints, 'No endpoints found that support tool use'],
  ['llama.cpp without --jinja', llamaCppNoJinja, 'tools param requires --jinja flag'],
];

describe('CAIRN_TOOL_CALLING=auto', () => {
  for (const [server, refusal, words] of REFUSALS) {
    it(`switches to prompt mode after ${server}'s refusal, with no failed step, and stays there`, async () => {
      fake.respondWith(promptModel(refusal));
      const switched: PromptModeModels = new Map();
      const { agent, model, warnings } = await build('auto', { switched, maxRetries: 1 });
      expect(model.toolCalling.mode).toBe('native');
      const events: RunEvent[] = [];
      const result = await agent.run({ goal: 'What time is it in Oslo?', sinks: [(e) => void events.push(e)] });
      expect(result).toMatchObject({ status: 'succeeded', answer: 'It is noon in Oslo.', toolCalls: { succeeded: 1 } });
      expect(errors(events)).toEqual([]);
      expect(model.toolCalling).toMatchObject({ setting: 'auto', mode: 'prompt' });
      expect(model.toolCalling.reason).toContain(words);
      // Only the refused request carried tools: llama.cpp's 500 is an answer, not retried either.
      const requests = fake.chatRequests();
      expect(requests.map(carriesTools).indexOf(true)).toBe(0);
      expect(requests.filter(carriesTools)).toHaveLength(1);
      expect(warnings.filter((l) => l.includes('refused tool calling'))).toHaveLength(1);
      expect(warnings.join('')).toContain(words.replaceAll('"', '\\"'));

      // The switch holds for the next run of the same model: no tools sent, no second warning.
      fake.reset();
      fake.respondWith(promptModel(refusal));
      const next = await build('auto', { switched });
      expect((await next.agent.run({ goal: 'And now?' })).status).toBe('succeeded');
      expect(fake.chatRequests().some(carriesTools)).toBe(false);
      expect(next.warnings).toEqual([]);
    });
  }

  it('does not switch on a 400 that is not about tools', async () => {
    fake.respondWith(() => openAiContextOverflow);
    const { agent, model } = await build('auto');
    const result = await agent.run({ goal: 'What time is it in Oslo?' });
    expect(result.status).toBe('failed');
    expect(model.toolCalling.mode).toBe('native');
    expect(fake.chatRequests()).toHaveLength(1);
  });
});

describe('CAIRN_TOOL_CALLING=native', () => {
  it("fails on a refusal of tools, with the server's words", async () => {
    fake.respondWith(promptModel(ollamaNoTools()));
    const { agent, model } = await build('native');
    const result = await agent.run({ goal: 'What time is it in Oslo?' });
    expect(result.status).toBe('failed');
    expect(result.reason).toContain('registry.ollama.ai/library/gemma3:4b does not support tools');
    expect(model.toolCalling).toEqual({ setting: 'native', mode: 'native', reason: null });
    expect(fake.chatRequests().every(carriesTools)).toBe(true);
  });
});
