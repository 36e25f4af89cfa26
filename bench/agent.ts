/**
 * bench:agent — the agent loop's own cost per step and the prompt size of a long run, with a
 * zero-latency in-process model, so nothing but the loop (context building, budget, loop guard,
 * events, tool dispatch and validation) is timed.
 *
 *   npm run bench:agent -- [--json] [--runs 20] [--steps 50]
 *
 * overheadUsPerStep: median over all steps of all timed runs of the loop's time between one model
 * reply and the next model call, less the time inside the tool handler (argument parsing and
 * validation, output formatting, events, context building and budget checks all count). Prompt tokens are counted with a real tokenizer (o200k_base) over the messages
 * and tool schemas each call sends, i.e. what a server would bill.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Tiktoken } from 'js-tiktoken/lite';
import o200k from 'js-tiktoken/ranks/o200k_base';
import { z } from 'zod';
import { Agent } from '../src/agent/agent.js';
import { estimateTokens } from '../src/llm/tokens.js';
import type { ChatModel, ChatRequest, ChatResponse } from '../src/llm/types.js';
import { silentLogger } from '../src/log.js';
import { builtinTools } from '../src/tools/builtin/index.js';
import { defineTool, ToolRegistry } from '../src/tools/registry.js';

const { values } = parseArgs({
  options: { json: { type: 'boolean', default: false }, runs: { type: 'string', default: '20' }, steps: { type: 'string', default: '50' } },
});
const runs = Number(values.runs);
const stepsPerRun = Number(values.steps);

const tokenizer = new Tiktoken(o200k);
const countMessageTokens = (request: ChatRequest) => tokenizer.encode(JSON.stringify(request.messages)).length;
const countTokens = (request: ChatRequest) => countMessageTokens(request) + tokenizer.encode(JSON.stringify(request.tools ?? [])).length;

/** Deterministic text of realistic shape (a page of notes), different on every step. */
function observation(step: number): string {
  const lines: string[] = [];
  for (let i = 0; lines.join('\n').length < 1800; i++) {
    lines.push(`- record ${step}.${i}: status ${['ok', 'degraded', 'ok', 'down'][(step + i) % 4]}, latency ${(step * 37 + i * 11) % 900} ms, region eu-${(step + i) % 5}`);
  }
  return lines.join('\n');
}

/** Time spent inside the tool handler, by page (= step) — excluded from the loop's overhead. */
let handlerNsByStep: bigint[] = [];
const inspect = defineTool({
  name: 'inspect_service',
  description: 'Returns the latest records of a service.',
  input: z.object({ service: z.string(), page: z.number().int().min(0) }),
  risk: 'low',
  run: ({ page }) => {
    const start = process.hrtime.bigint();
    const text = observation(page);
    handlerNsByStep[page] = process.hrtime.bigint() - start;
    return Promise.resolve(text);
  },
});

/** Calls inspect_service for `steps - 1` steps, then answers; records what it was sent. */
class ScriptedModel implements ChatModel {
  readonly model = 'bench-model';
  /** hrtime at entry and exit of each call, by call number (1-based). */
  readonly enteredNs: bigint[] = [];
  readonly exitedNs: bigint[] = [];
  promptTokensByStep: number[] = [];
  messageTokensByStep: number[] = [];
  private call = 0;

  constructor(
    private readonly steps: number,
    private readonly measureTokens: boolean,
  ) {}

  chat(request: ChatRequest): Promise<ChatResponse> {
    this.call += 1;
    this.enteredNs[this.call] = process.hrtime.bigint();
    if (this.measureTokens) {
      this.promptTokensByStep[this.call] = countTokens(request);
      this.messageTokensByStep[this.call] = countMessageTokens(request);
    }
    const usage = { promptTokens: estimateTokens(request.messages), completionTokens: 60 };
    const final = this.call >= this.steps;
    const response: ChatResponse = {
      content: final ? 'All services inspected; eu-3 is degraded.' : `Checking page ${this.call} of the service records to compare latencies across regions.`,
      reasoning: null,
      toolCalls: final ? [] : [{ id: `call_${this.call}`, name: 'inspect_service', arguments: JSON.stringify({ service: 'status-page', page: this.call }) }],
      usage,
      usageEstimated: false,
      finishReason: final ? 'stop' : 'tool_calls',
      model: this.model,
    };
    this.exitedNs[this.call] = process.hrtime.bigint();
    return Promise.resolve(response);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

const workspaceRoot = await mkdtemp(path.join(os.tmpdir(), 'cairn-bench-'));
const perStepUs: number[] = [];
let promptTokens: number[] = [];
let messageTokens: number[] = [];
try {
  // Run 0 warms up the JIT and is not timed; the last run also counts tokens (untimed work).
  for (let run = 0; run <= runs + 1; run++) {
    const measureTokens = run === runs + 1;
    const model = new ScriptedModel(stepsPerRun, measureTokens);
    const tools = new ToolRegistry([...builtinTools(), inspect]);
    handlerNsByStep = [];
    const agent = new Agent({
      model,
      tools,
      log: silentLogger(),
      price: { inputPerMTok: 0.15, outputPerMTok: 0.6 },
      limits: { maxSteps: stepsPerRun + 5, maxTokens: 100_000_000, maxCostUsd: 1_000, maxDurationMs: 600_000 },
      workspaceRoot,
    });
    const result = await agent.run({ goal: 'Inspect the status page records and report which region is degraded.', sinks: [() => undefined] });
    if (result.status !== 'succeeded' || result.steps !== stepsPerRun) throw new Error(`bench run ended ${result.status} after ${result.steps} steps`);
    if (measureTokens) {
      promptTokens = model.promptTokensByStep;
      messageTokens = model.messageTokensByStep;
    }
    else if (run > 0) {
      for (let step = 1; step < stepsPerRun; step++) {
        const between = (model.enteredNs[step + 1] ?? 0n) - (model.exitedNs[step] ?? 0n) - (handlerNsByStep[step] ?? 0n);
        perStepUs.push(Number(between) / 1000);
      }
    }
  }
} finally {
  await rm(workspaceRoot, { recursive: true, force: true });
}

const report = {
  overheadUsPerStep: Math.round(median(perStepUs) * 10) / 10,
  promptTokensAtStep5: promptTokens[5] ?? 0,
  promptTokensAtStep50: promptTokens[50] ?? 0,
  step50OverStep5: Math.round(((promptTokens[50] ?? 0) / (promptTokens[5] ?? 1)) * 100) / 100,
  // The same without the tool schemas, which every call repeats unchanged.
  messageTokensAtStep5: messageTokens[5] ?? 0,
  messageTokensAtStep50: messageTokens[50] ?? 0,
  runs,
  stepsPerRun,
  tokenizer: 'o200k_base',
};
if (!values.json) {
  console.log(`loop overhead per step: median ${report.overheadUsPerStep} µs over ${runs} runs of ${stepsPerRun} steps`);
  console.log(`prompt tokens: step 5 = ${report.promptTokensAtStep5}, step 50 = ${report.promptTokensAtStep50} (×${report.step50OverStep5})`);
}
console.log(JSON.stringify(report));
