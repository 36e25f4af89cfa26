import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { OpenAiChatModel } from '../../src/llm/client.js';
import { silentLogger } from '../../src/log.js';
import { CairnMetrics } from '../../src/metrics/metrics.js';
import { startOpsServer, type OpsServer } from '../../src/metrics/server.js';
import { builtinTools } from '../../src/tools/builtin/index.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import { DEFAULT_TEST_LIMITS, useHarness } from '../agent/harness.js';

const h = useHarness();
const servers: OpsServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

/** An agent whose every run is counted by `metrics`, as the app wires it. */
function countedAgent(metrics: CairnMetrics, tools: ToolRegistry): Agent {
  const log = silentLogger();
  return new Agent({
    model: new OpenAiChatModel({ model: 'test-model', baseURL: h.fake.baseURL, apiKey: 'k', timeoutMs: 5_000, maxRetries: 0, log }),
    tools,
    log,
    price: { inputPerMTok: 1, outputPerMTok: 2 },
    limits: DEFAULT_TEST_LIMITS,
    workspaceRoot: h.workspaceRoot,
    observers: [(run) => metrics.observe(run)],
  });
}

/** The value of one sample line of the Prometheus text, e.g. `cairn_runs_total{status="succeeded",trigger="slash"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('/metrics, /healthz, /readyz', () => {
  it('counts runs by status and trigger, steps, tokens, cost and tool calls, and serves them in Prometheus text', async () => {
    const tools = new ToolRegistry(builtinTools());
    const metrics = new CairnMetrics(new Set(tools.list().map((t) => t.name)));
    metrics.countInFlight(() => ({ count: 2, oldestStartedAt: Date.now() - 30_000, waiting: 3, oldestWaitingSince: Date.now() - 5_000 }));
    let ready = false;
    const ops = await startOpsServer({ host: '127.0.0.1', port: 0, metrics, ready: () => ready });
    servers.push(ops);
    h.fake.script(
      { kind: 'tool_calls', calls: [{ name: 'current_time', arguments: {} }, { name: 'no_such_tool', arguments: {} }] },
      { kind: 'text', content: 'Done.', usage: { prompt: 100, completion: 20 } },
    );
    const result = await countedAgent(metrics, tools).run({ goal: 'What time is it?', trigger: 'slash' });
    expect(result.status).toBe('succeeded');

    const base = `http://127.0.0.1:${ops.port}`;
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(sample(text, 'cairn_runs_total{status="succeeded",trigger="slash"}')).toBe(1);
    expect(sample(text, 'cairn_run_steps_total')).toBe(2);
    expect(sample(text, 'cairn_tokens_total{kind="prompt"}')).toBe(result.usage.promptTokens);
    expect(sample(text, 'cairn_cost_usd_total')).toBeCloseTo(result.costUsd ?? -1, 9);
    expect(sample(text, 'cairn_tool_call_seconds_count{tool="current_time",outcome="ok"}')).toBe(1);
    // A tool name the model made up is not a label of its own.
    expect(sample(text, 'cairn_tool_call_seconds_count{tool="(unknown)",outcome="unknown_tool"}')).toBe(1);
    expect(text).not.toContain('no_such_tool');
    expect(sample(text, 'cairn_model_call_seconds_count')).toBe(2);
    expect(sample(text, 'cairn_runs_in_flight')).toBe(2);
    expect(sample(text, 'cairn_run_oldest_age_seconds')).toBeGreaterThanOrEqual(29);
    expect(sample(text, 'cairn_runs_waiting')).toBe(3);
    expect(sample(text, 'cairn_run_wait_oldest_seconds')).toBeGreaterThanOrEqual(4);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`, { method: 'POST', body: 'x' })).status).toBe(405);
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
  });

  it('does not count a resumed run\'s replayed steps twice, and counts the resumption', () => {
    const metrics = new CairnMetrics(new Set(['current_time']));
    const sink = metrics.observe({ trigger: 'mention' });
    const usage = { promptTokens: 1, completionTokens: 1 };
    void sink({ type: 'step', runId: 'r', elapsedMs: 100, step: 1, maxSteps: 5, decision: 'tool_calls', reasoning: null, toolNames: ['current_time'], usage, costUsd: null, replayed: true });
    void sink({ type: 'resumed', runId: 'r', elapsedMs: 120, step: 1, resumes: 1 });
    void sink({ type: 'step', runId: 'r', elapsedMs: 400, step: 2, maxSteps: 5, decision: 'final', reasoning: null, toolNames: [], usage, costUsd: null });
    return metrics.registry.metrics().then((text) => {
      expect(sample(text, 'cairn_run_steps_total')).toBe(1);
      expect(sample(text, 'cairn_runs_resumed_total')).toBe(1);
      // The step's model time runs from the resumption, not from the run's start.
      expect(sample(text, 'cairn_model_call_seconds_sum')).toBeCloseTo(0.28, 5);
    });
  });
});
