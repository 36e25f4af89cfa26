import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { IncomingFile } from '../files/types.js';
import type { Logger } from '../log.js';
import type { ChatMessage, ChatModel } from '../llm/types.js';
import type { ToolRegistry } from '../tools/registry.js';
import { noApprover, type ApprovalPolicy, type Approver } from './approval.js';
import { Budget, type ModelPrice, type RunLimits } from './budget.js';
import type { ContextOptions } from './context.js';
import { EventFanout, type AgentMode, type RunResult, type RunSink } from './events.js';
import { Exposure } from './exposure.js';
import type { AgentMemory, RunInfo, RunMemoryContext, RunScope, Trigger, Visibility } from './memory-port.js';
import { requestParties } from './request-parties.js';
import { DEFAULT_MODE_SETTINGS, runReactMode, type ModeRunner, type ModeSettings } from './modes.js';
import { runPlanAndExecute } from './plan-execute.js';
import type { LoopOutcome } from './react.js';
import { runReflexion } from './reflexion.js';
import { StepLog } from './step-log.js';
import { RunAttachments } from './attachments.js';
import { checkFiles, type RunFiles } from './run-files.js';
import { journaledFiles, journaledRecall } from './journaled-start.js';
import { NO_JOURNAL, RunReplay, RunSuspendedError, type RunJournal } from './journal.js';
import { RunSignal } from './run-signal.js';

export interface AgentDependencies {
  model: ChatModel;
  tools: ToolRegistry;
  log: Logger;
  /** The chat model's price, or undefined when unknown (costs are then reported as unknown). */
  price: ModelPrice | undefined;
  limits: RunLimits;
  /** Each run gets its own directory under here unless the request names one. */
  workspaceRoot: string;
  /** Told while a run uses its own directory, so that retention never deletes it under the run. */
  workspaces?: { hold(workspaceDir: string): () => void };
  context?: ContextOptions;
  /** Check each final answer against the goal before calling a run a success (one more model call). */
  completionCheck?: boolean;
  /** Limits of the plan and reflexion modes. */
  modes?: ModeSettings;
  /** Which tool calls need a person's approval (default: high-risk tools, 2 minutes to answer). */
  approvals?: ApprovalPolicy;
  /** Recall before runs and episodes after them; without it runs remember nothing. */
  memory?: AgentMemory;
  /** Injectable clock for tests. */
  now?: () => Date;
  /**
   * Whether a model takes images as image parts (CAIRN_VISION, src/llm/vision.ts `ModelVision`),
   * asked only for a run given images (it may probe the model's server once); without it no
   * model is sent images and image files are listed as files it cannot see.
   */
  sees?: (modelId: string, signal?: AbortSignal) => boolean | Promise<boolean>;
  /** Sinks given every run's events (metrics), made for each run from what it is. */
  observers?: readonly ((run: RunInfo) => RunSink)[];
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
  /**
   * Indexes of `history` messages holding other people's words (a conversation several people
   * share): not the caller's own, so the hosts they name are not trusted, and the run is exposed
   * from the start, as with memory written by others (src/agent/exposure.ts).
   */
  historyFromOthers?: readonly number[];
  workspaceDir?: string;
  runId?: string;
  /** Who the run acts for and where (memory scope). Default: the local terminal user. */
  scope?: RunScope;
  trigger?: Trigger;
  /** Where its conversation turns are kept; default: the channel if there is one, else private. */
  visibility?: Visibility;
  /** Who pays for the run and its reflection, when not the scope's user (a scheduled run's creator). */
  billedTo?: string;
  /** Added to the instructions, e.g. a scheduled run's previous report. */
  briefing?: string;
  /** Who approves risky tool calls; without one they are not run (there is no one to ask). */
  approver?: Approver;
  /**
   * Where the run happens may set its own (src/settings): the operator's instructions, another
   * model of the operator's allow-list, tools left out, a stricter or looser approval threshold.
   */
  instructions?: string;
  model?: RunModel;
  disabledTools?: readonly string[];
  approvals?: Partial<ApprovalPolicy>;
  /**
   * Files given with the goal (src/files): written into the workspace before the first step,
   * listed in the prompt as data, images shown to a model that sees. The run is exposed from the
   * start (src/agent/exposure.ts): a file's text may ask for things its sender never meant.
   */
  files?: readonly IncomingFile[];
  /**
   * Makes the run durable (src/durable): each model reply, tool outcome and approval is recorded
   * before the run acts on it, and a journal with entries is replayed before the run goes on.
   */
  journal?: RunJournal;
  /** A run resumed after a restart: when it first started, and how many times it has been resumed. */
  resumed?: { startedAt: Date; resumes: number };
}

/** A chat model for one run, with its price (undefined: unknown, so costs are reported unknown). */
export interface RunModel {
  chat: ChatModel;
  price: ModelPrice | undefined;
}

export const DEFAULT_APPROVALS: ApprovalPolicy = { minRisk: 'high', timeoutMs: 120_000 };

export { LOCAL_SCOPE, requestParties } from './request-parties.js';

const MODE_RUNNERS: Record<AgentMode, ModeRunner> = { react: runReactMode, plan: runPlanAndExecute, reflexion: runReflexion };

export const AGENT_MODES = Object.keys(MODE_RUNNERS) as readonly AgentMode[];

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
    const { mode, trigger, scope, visibility, billedTo } = requestParties(request);
    if (!AGENT_MODES.includes(mode)) throw new Error(`Unknown mode "${mode}". Available: ${AGENT_MODES.join(', ')}.`);
    const files = request.files ?? [];
    // Before anything is created: a bad hand-over is the caller's error, not a failed run.
    checkFiles(files);
    const runId = request.runId ?? newRunId();
    const log = this.deps.log.child({ runId });
    const limits: RunLimits = { ...this.deps.limits, ...request.limits };
    const workspaceDir = path.resolve(request.workspaceDir ?? path.join(this.deps.workspaceRoot, runId));
    const releaseWorkspace = request.workspaceDir === undefined ? this.deps.workspaces?.hold(workspaceDir) : undefined;
    await mkdir(workspaceDir, { recursive: true });
    const now = this.deps.now ?? (() => new Date());
    const startedAt = request.resumed?.startedAt ?? now();
    const startedMs = performance.now();
    // A resumed run's clock carries on from where its journal ends: time down does not count.
    let elapsedBefore = 0;
    const elapsedMs = () => elapsedBefore + Math.round(performance.now() - startedMs);
    const stepLog = new StepLog();
    const info: RunInfo = { runId, goal, mode, trigger, scope, visibility, billedTo, startedAt };
    const events = new EventFanout([stepLog.sink, ...(this.deps.observers ?? []).map((observe) => observe(info)), ...(request.sinks ?? [])], log);
    const budget = new Budget(limits, request.model === undefined ? this.deps.price : request.model.price);
    const tools = (request.disabledTools?.length ?? 0) > 0 ? this.deps.tools.without(request.disabledTools ?? []) : this.deps.tools;

    const run = new RunSignal(request.signal);
    const replay = new RunReplay(
      request.journal ?? NO_JOURNAL,
      run.signal,
      elapsedMs,
      (hit) => {
        run.stop(hit);
      },
      () => {
        events.emit({ type: 'resumed', runId, elapsedMs: elapsedMs(), step: budget.steps, resumes: request.resumed?.resumes ?? 1 });
      },
    );
    elapsedBefore = replay.recordedElapsedMs;
    events.replaying = () => replay.replaying;
    run.limitTime(limits.maxDurationMs, limits.maxDurationMs - elapsedBefore);
    const model = replay.model(request.model?.chat ?? this.deps.model);
    let given: RunFiles;
    try {
      given = await journaledFiles(replay, workspaceDir, files, async () => (await this.deps.sees?.(model.model, request.signal)) ?? false);
    } catch (error) {
      run.dispose();
      releaseWorkspace?.();
      throw error;
    }
    const attachments = new RunAttachments();

    log.info({ goal, mode, model: model.model, trigger: info.trigger, ...(request.resumed === undefined ? {} : { resumes: request.resumed.resumes }) }, request.resumed === undefined ? 'run started' : 'run resumed');
    const recalled = await journaledRecall(replay, () => this.recall(info, run.signal, log));
    events.emit({
      type: 'started',
      runId,
      elapsedMs: 0,
      goal,
      mode,
      model: model.model,
      maxSteps: limits.maxSteps,
      workspaceDir,
      memory: recalled === null ? null : { workingBlocks: recalled.workingBlocks, memories: recalled.memories, lessons: recalled.lessons },
    });
    let outcome: LoopOutcome;
    try {
      outcome = await MODE_RUNNERS[mode]({
        runId,
        prompt: {
          goal,
          maxSteps: limits.maxSteps,
          now: startedAt,
          timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
          history: request.history ?? [],
          memory: recalled?.prompt ?? null,
          briefing: request.briefing ?? null,
          instructions: request.instructions ?? null,
          files: given.placed,
          images: given.images,
        },
        settings: this.deps.modes ?? DEFAULT_MODE_SETTINGS,
        approvals: { policy: { ...(this.deps.approvals ?? DEFAULT_APPROVALS), ...request.approvals }, approver: request.approver ?? noApprover },
        exposure: Exposure.forRun({ goal, history: request.history ?? [], othersTurns: request.historyFromOthers ?? [], scope, fromOthers: recalled?.fromOthers ?? 0, files: files.length }),
        attach: (file) => attachments.add(file),
        replay,
        model,
        tools,
        budget,
        events,
        log,
        signal: run.signal,
        workspaceDir,
        scope,
        visibility: info.visibility,
        elapsedMs,
        ...(this.deps.context === undefined ? {} : { context: this.deps.context }),
        completionCheck: this.deps.completionCheck ?? false,
      });
    } finally {
      run.dispose();
      // Its tools are done with the workspace.
      releaseWorkspace?.();
    }
    replay.finish();
    if (run.suspended) {
      log.info({ steps: budget.steps }, 'run suspended; it resumes from its journal on the next start');
      await events.flush();
      throw new RunSuspendedError(runId);
    }
    const attached = await attachments.verified(workspaceDir);
    if (outcome.hit !== undefined) events.emit({ type: 'limit', runId, elapsedMs: elapsedMs(), limit: outcome.hit.limit, detail: outcome.hit.detail });

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
      ...(outcome.hit === undefined ? {} : { limit: outcome.hit.limit }),
      startedAt: startedAt.toISOString(),
      endedAt: now().toISOString(),
      workspaceDir,
      ...(attached.length === 0 ? {} : { attachments: attached }),
    };
    log.info(
      { status: result.status, steps: result.steps, usage: result.usage, costUsd: result.costUsd, reason: result.reason },
      'run ended',
    );
    await this.record(info, result, stepLog, log);
    events.emit({ type: 'final', runId, elapsedMs: elapsedMs(), result });
    await events.flush();
    return result;
  }

  /** Recall never blocks a run: if memory fails, the run goes on without it and the log says why. */
  private async recall(info: RunInfo, signal: AbortSignal, log: Logger): Promise<RunMemoryContext | null> {
    if (this.deps.memory === undefined) return null;
    try {
      return await this.deps.memory.beforeRun(info, signal);
    } catch (error) {
      log.error({ err: error }, 'memory recall failed; running without memory');
      return null;
    }
  }

  private async record(info: RunInfo, result: RunResult, stepLog: StepLog, log: Logger): Promise<void> {
    if (this.deps.memory === undefined) return;
    try {
      await this.deps.memory.afterRun(info, result, stepLog.steps);
    } catch (error) {
      log.error({ err: error }, 'saving the run to memory failed');
    }
  }
}
