import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';
import type { ChatMessage, ChatModel } from '../llm/types.js';
import type { ToolRegistry } from '../tools/registry.js';
import { Budget, type ModelPrice, type RunLimits } from './budget.js';
import type { ContextOptions } from './context.js';
import { EventFanout, type AgentMode, type RunResult, type RunSink } from './events.js';
import { buildHead } from './prompt.js';
import { runReactLoop, type LoopOutcome } from './react.js';

export interface AgentDependencies {
  model: ChatModel;
  tools: ToolRegistry;
  log: Logger;
  /** The chat model's price, or undefined when unknown (costs are then reported as unknown). */
  price: ModelPrice | undefined;
  limits: RunLimits;
  /** Each run gets its own directory under here unless the request names one. */
  workspaceRoot: string;
  context?: ContextOptions;
  /** Injectable clock for tests. */
  now?: () => Date;
}

export interface RunRequest {
  goal: string;
  mode?: AgentMode;
  sinks?: RunSink[];
  /** Cancels the run; the result then has status "stopped". */
  signal?: AbortSignal;
  limits?: Partial<RunLimits>;
  /** Earlier conversation turns (chat), oldest first. */
  history?: ChatMessage[];
  workspaceDir?: string;
  runId?: string;
}

export const AGENT_MODES: readonly AgentMode[] = ['react'];

/** Short, sortable, quotable ids: base-36 time then random, e.g. "mhx3k2a1-4f9c2e". */
export function newRunId(now = Date.now()): string {
  return `${now.toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** The agent core: knows tools, models and limits, and nothing of Discord or terminals. */
export class Agent {
  constructor(private readonly deps: AgentDependencies) {}

  get modelName(): string {
    return this.deps.model.model;
  }

  get defaultLimits(): RunLimits {
    return this.deps.limits;
  }

  async run(request: RunRequest): Promise<RunResult> {
    const goal = request.goal.trim();
    if (goal === '') throw new Error('The goal is empty: say what the agent should do.');
    const mode = request.mode ?? 'react';
    if (!AGENT_MODES.includes(mode)) throw new Error(`Unknown mode "${mode}". Available: ${AGENT_MODES.join(', ')}.`);
    const runId = request.runId ?? newRunId();
    const log = this.deps.log.child({ runId });
    const limits: RunLimits = { ...this.deps.limits, ...request.limits };
    const workspaceDir = path.resolve(request.workspaceDir ?? path.join(this.deps.workspaceRoot, runId));
    await mkdir(workspaceDir, { recursive: true });

    const now = this.deps.now ?? (() => new Date());
    const startedAt = now();
    const startedMs = performance.now();
    const elapsedMs = () => Math.round(performance.now() - startedMs);
    const events = new EventFanout(request.sinks ?? [], log);
    const budget = new Budget(limits, this.deps.price);

    // One signal carries both the caller's cancellation and the wall-clock limit to every
    // model call and tool; its reason says which one fired.
    const controller = new AbortController();
    const onCancel = () => {
      controller.abort({ limit: 'cancelled', detail: 'the run was cancelled' });
    };
    if (request.signal?.aborted === true) onCancel();
    request.signal?.addEventListener('abort', onCancel, { once: true });
    const timer = setTimeout(() => {
      controller.abort({ limit: 'time', detail: `ran out of time (limit ${Math.round(limits.maxDurationMs / 1000)} s)` });
    }, limits.maxDurationMs);

    log.info({ goal, mode, model: this.deps.model.model }, 'run started');
    events.emit({
      type: 'started',
      runId,
      elapsedMs: 0,
      goal,
      mode,
      model: this.deps.model.model,
      maxSteps: limits.maxSteps,
      workspaceDir,
    });
    let outcome: LoopOutcome;
    try {
      outcome = await runReactLoop({
        runId,
        head: buildHead({
          goal,
          maxSteps: limits.maxSteps,
          now: startedAt,
          timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
          history: request.history ?? [],
        }),
        model: this.deps.model,
        tools: this.deps.tools,
        budget,
        events,
        log,
        signal: controller.signal,
        workspaceDir,
        elapsedMs,
        ...(this.deps.context === undefined ? {} : { context: this.deps.context }),
      });
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onCancel);
    }

    const result: RunResult = {
      runId,
      goal,
      mode,
      status: outcome.status,
      answer: outcome.answer,
      steps: budget.steps,
      maxSteps: limits.maxSteps,
      usage: { ...budget.usage },
      costUsd: budget.costUsd,
      toolCalls: outcome.toolCalls,
      ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
      ...(outcome.limit === undefined ? {} : { limit: outcome.limit }),
      startedAt: startedAt.toISOString(),
      endedAt: now().toISOString(),
      workspaceDir,
    };
    log.info(
      { status: result.status, steps: result.steps, usage: result.usage, costUsd: result.costUsd, reason: result.reason },
      'run ended',
    );
    events.emit({ type: 'final', runId, elapsedMs: elapsedMs(), result });
    await events.flush();
    return result;
  }
}
