/**
 * Issue 12's symptom: a server with a 4,096-token window refuses a longer prompt, and the run
 * failed at the step after the first read_file of a big file. With FitWindowModel around the
 * client, every request is fitted to the window before it is sent.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { DEFAULT_MODE_SETTINGS } from '../../src/agent/modes.js';
import { OpenAiChatModel } from '../../src/llm/client.js';
import { FitWindowModel } from '../../src/llm/fit-window.js';
import { silentLogger } from '../../src/log.js';
import { builtinTools } from '../../src/tools/builtin/index.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import { fakePromptTokens, withContextWindow, type ChatCompletionRequestBody } from '../fakes/openai-server.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import type { ScriptedReply } from '../fakes/openai-server.js';
import { bigFile } from '../fakes/openai-window.js';

const WINDOW = 4_096;
const fake = useFakeOpenAi();
let root = '';
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cairn-window-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function agentWith(windowTokens: number, fitted: boolean): Agent {
  const log = silentLogger();
  const client = new OpenAiChatModel({ model: 'fake-model', baseURL: fake.baseURL, timeoutMs: 5_000, maxRetries: 0, log });
  const model = fitted
    ? new FitWindowModel(client, { window: () => Promise.resolve({ tokens: windowTokens, source: 'CAIRN_CONTEXT_TOKENS' }), log, learned: new Map() })
    : client;
  return new Agent({
    model,
    tools: new ToolRegistry(builtinTools()),
    log,
    price: undefined,
    limits: { maxSteps: 10, maxTokens: 1_000_000, maxCostUsd: 100, maxDurationMs: 20_000 },
    workspaceRoot: root,
    completionCheck: false,
    modes: DEFAULT_MODE_SETTINGS,
  });
}

/** Reads the file three times (the model follows the offsets), then answers. */
function reader(body: ChatCompletionRequestBody, index: number): ScriptedReply {
  if (index < 3) return { kind: 'tool_calls', calls: [{ name: 'read_file', arguments: { path: 'big.txt', offset: index * 6_000 } }] };
  const tools = body.messages.filter((m) => m.role === 'tool').length;
  return { kind: 'text', content: `Read it; ${tools} tool results in view.` };
}

async function workspaceWithBigFile(name: string): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'big.txt'), bigFile(60_000));
  return dir;
}

describe('prompts fit a 4,096-token window', () => {
  it('without fitting, the server refuses the prompt after the big reads (the issue as reported)', async () => {
    fake.respondWith(withContextWindow(WINDOW, reader));
    const result = await agentWith(WINDOW, false).run({ goal: 'Read big.txt and summarise it.', workspaceDir: await workspaceWithBigFile('unfitted') });
    expect(result.status).toBe('failed');
    expect(result.reason).toMatch(/context length is only 4096 tokens/);
  });

  it('reads a file much larger than the window and answers, every request inside the window', async () => {
    fake.respondWith(withContextWindow(WINDOW, reader));
    const goal = 'Read big.txt and summarise it.';
    const result = await agentWith(WINDOW, true).run({ goal, workspaceDir: await workspaceWithBigFile('fitted') });

    expect(result.status).toBe('succeeded');
    expect(result.answer).toMatch(/^Read it/);
    const requests = fake.chatRequests();
    expect(requests).toHaveLength(4);
    for (const body of requests) {
      expect(fakePromptTokens(body)).toBeLessThanOrEqual(WINDOW);
      // The rules and the goal went out whole every time.
      expect(body.messages[0]).toMatchObject({ role: 'system' });
      expect(String((body.messages[0] as { content?: unknown }).content)).toContain('Rules:');
      expect(body.messages.some((m) => m.role === 'user' && (m as { content?: unknown }).content === goal)).toBe(true);
    }
    // The older reads were cut, each with a note saying where to read on.
    const last = requests.at(-1);
    const tools = (last?.messages ?? []).filter((m) => m.role === 'tool').map((m) => String((m as { content?: unknown }).content));
    expect(tools.length).toBe(3);
    expect(tools.some((t) => /\[cut to fit the model's context window; read the rest with read_file path="big\.txt" offset=\d+\]/.test(t))).toBe(true);
  });
});
