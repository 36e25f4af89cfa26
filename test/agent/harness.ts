import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import type { ModelPrice, RunLimits } from '../../src/agent/budget.js';
import type { RunEvent } from '../../src/agent/events.js';
import type { ApprovalPolicy } from '../../src/agent/approval.js';
import { DEFAULT_MODE_SETTINGS, type ModeSettings } from '../../src/agent/modes.js';
import { OpenAiChatModel } from '../../src/llm/client.js';
import { silentLogger } from '../../src/log.js';
import { builtinTools } from '../../src/tools/builtin/index.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import type { Tool } from '../../src/tools/types.js';
import { z } from 'zod';
import type { ChatCompletionRequestBody, FakeOpenAi } from '../fakes/openai-server.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';

export const DEFAULT_TEST_LIMITS: RunLimits = { maxSteps: 10, maxTokens: 1_000_000, maxCostUsd: 100, maxDurationMs: 20_000 };

export interface AgentOptions {
  limits?: Partial<RunLimits>;
  price?: ModelPrice;
  extraTools?: Tool[];
  timeoutMs?: number;
  completionCheck?: boolean;
  modes?: Partial<ModeSettings>;
  approvals?: ApprovalPolicy;
}

export interface Harness {
  fake: FakeOpenAi;
  /** Per-run workspaces are created under here (a temp directory for the test file). */
  readonly workspaceRoot: string;
  /** An agent on the real openai SDK pointed at the fake server. */
  agent(options?: AgentOptions): Agent;
}

/** The fake model server and a temp workspace root for one test file, set up and torn down by vitest. */
export function useHarness(): Harness {
  const fake = useFakeOpenAi();
  let workspaceRoot = '';
  beforeAll(async () => {
    workspaceRoot = await mkdtemp(path.join(os.tmpdir(), 'cairn-agent-test-'));
  });
  afterAll(async () => {
    await rm(workspaceRoot, { recursive: true, force: true });
  });
  return {
    fake,
    get workspaceRoot() {
      return workspaceRoot;
    },
    agent(options = {}) {
      const log = silentLogger();
      return new Agent({
        model: new OpenAiChatModel({
          model: 'test-model',
          baseURL: fake.baseURL,
          apiKey: 'test-key',
          timeoutMs: options.timeoutMs ?? 5_000,
          maxRetries: 2,
          retryBaseDelayMs: 5,
          log,
        }),
        tools: new ToolRegistry([...builtinTools(), ...(options.extraTools ?? [])]),
        log,
        price: options.price,
        limits: { ...DEFAULT_TEST_LIMITS, ...options.limits },
        workspaceRoot,
        completionCheck: options.completionCheck ?? false,
        modes: { ...DEFAULT_MODE_SETTINGS, ...options.modes },
        ...(options.approvals === undefined ? {} : { approvals: options.approvals }),
      });
    },
  };
}

/** A sink that keeps every event, for assertions on the stream. */
export function recorder(): { events: RunEvent[]; sink: (e: RunEvent) => void } {
  const events: RunEvent[] = [];
  return { events, sink: (e) => void events.push(e) };
}

/** The text of every tool message in a recorded chat request. */
export function toolMessages(body: { messages: { role: string }[] }): string[] {
  return body.messages
    .filter((m) => m.role === 'tool')
    .map((m) => ('content' in m && typeof m.content === 'string' ? m.content : ''));
}

const ResponseFormat = z.object({ response_format: z.object({ json_schema: z.object({ name: z.string() }) }) });

/** The structured-output format a request asks for ("plan", "completion_check", …), or null for a plain turn. */
export function formatOf(body: ChatCompletionRequestBody): string | null {
  const parsed = ResponseFormat.safeParse(body);
  return parsed.success ? parsed.data.response_format.json_schema.name : null;
}

/** The text of a request's messages of one role, joined ('' for a request that was never made). */
export function textOf(body: ChatCompletionRequestBody | undefined, role: 'system' | 'user' | 'tool'): string {
  if (body === undefined) return '';
  return body.messages
    .filter((m) => m.role === role)
    .map((m) => ('content' in m && typeof m.content === 'string' ? m.content : ''))
    .join('\n');
}
