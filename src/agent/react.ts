import type { Logger } from '../log.js';
import type { RunScope, Visibility } from '../memory/types.js';
import type { ChatMessage, ChatModel, ChatResponse, ToolCall } from '../llm/types.js';
import type { ToolContext, ToolOutcome } from '../tools/types.js';
import { needsApproval, noApprover, refusalNote, type ApprovalDecision, type ApprovalPolicy, type ApprovalRequest, type Approver } from './approval.js';
import { heldCallNote, type Exposure } from './exposure.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { Budget, LimitHit } from './budget.js';
import { estimateTokens } from '../llm/tokens.js';
import { ContextWindow, type ContextOptions, type StepRecord } from './context.js';
import type { EventFanout, RunStatus } from './events.js';
import { abortHit, stopReason } from './abort.js';
import { MAX_REJECTIONS } from './completion-check.js';
import { missingFromGoal } from './side-calls.js';
import { LoopGuard } from './loop-guard.js';
import { EMPTY_REPLY_NOTE, LAST_STEP_NOTE, REASONING_ONLY_NOTE } from './prompt.js';
import { errorMessage, oneLine } from '../text.js';
import type { OutgoingFile } from '../files/types.js';
import type { RunReplay } from './journal.js';

export interface LoopInputs {
  runId: string;
  head: ChatMessage[];
  model: ChatModel;
  tools: ToolRegistry;
  budget: Budget;
  events: EventFanout;
  log: Logger;
  /** Aborted on cancellation or when the wall clock runs out; its reason is a LimitHit. */
  signal: AbortSignal;
  workspaceDir: string;
  scope: RunScope;
  /** Where the run's writes go by default; a private run's writes all stay private. */
  visibility: Visibility;
  elapsedMs: () => number;
  context?: ContextOptions;
  /** Check each final answer against the goal before calling the run a success. */
  completionCheck?: boolean;
  /** The goal that check judges by; default: the head's last user message (which may list files after the goal's words). */
  goal?: string;
  /**
   * The budget's step count at which this loop must answer and end (a task's or an attempt's
   * share of the run); default: the run's step limit.
   */
  stepLimit?: number;
  /** Keep a one-line trace of each tool call in the outcome (for replanning and reflection). */
  trace?: boolean;
  /** Which calls need a person's approval, and who to ask; without it only the exposure guard asks (and, with no one to ask, refuses). */
  approvals?: { policy: ApprovalPolicy; approver: Approver };
  /** The run's untrusted-content guard; one object for the whole run, so tasks and attempts share it. */
  exposure: Exposure;
  /** Where attach_file puts the files it attaches (the run's list, shared by tasks and attempts). */
  attach?: ToolContext['attach'];
  /** A durable run's journal (src/agent/journal.ts): tool outcomes and approvals are recorded, or replayed. */
  replay?: RunReplay;
}

export interface LoopOutcome {
  status: RunStatus;
  answer: string | null;
  reason?: string;
  /** The limit that stopped the loop; the caller decides whether it ends the whole run. */
  hit?: LimitHit;
  toolCalls: { total: number; succeeded: number };
  /** With `trace`: one short line per tool call and its outcome, for replanning and reflection prompts. */
  trace: string[];
}

/** Servers sometimes omit or repeat tool-call ids; the protocol needs each to be unique. */
function withUniqueIds(calls: ToolCall[], step: number): ToolCall[] {
  const seen = new Set<string>();
  return calls.map((call, index) => {
    const id = call.id === '' || seen.has(call.id) ? `call_${step}_${index}` : call.id;
    seen.add(id);
    return { ...call, id };
  });
}

function stepsHit(stepLimit: number): LimitHit {
  return { limit: 'steps', detail: `reached the limit of ${stepLimit} steps` };
}

/**
 * ReAct on native tool calling: ask the model, run the tools it calls, feed back the
 * observations, repeat until it answers without a tool call or a limit stops the run.
 */
export async function runReactLoop(inputs: LoopInputs): Promise<LoopOutcome> {
  const { model, tools, budget, events, signal, runId } = inputs;
  const context = new ContextWindow(inputs.head, inputs.context);
  const guard = new LoopGuard();
  const specs = tools.specs();
  const toolCalls = { total: 0, succeeded: 0 };
  const trace: string[] = [];
  const stepLimit = Math.min(inputs.stepLimit ?? budget.limits.maxSteps, budget.limits.maxSteps);
  let lastWords: string | null = null;
  let note: string | undefined;
  let rejections = 0;

  const stop = (hit: LimitHit): LoopOutcome => ({ status: 'stopped', answer: lastWords, reason: stopReason(hit), hit, toolCalls, trace });

  for (;;) {
    const cancelled = abortHit(signal);
    if (cancelled !== null) return stop(cancelled);
    if (budget.steps >= stepLimit) return stop(stepsHit(stepLimit));
    const lastStep = budget.steps === stepLimit - 1;
    const messages = context.messages(lastStep ? LAST_STEP_NOTE : note);
    note = undefined;
    const preflight = budget.beforeCall(estimateTokens(messages));
    if (preflight !== null) return stop(preflight);

    let response: ChatResponse;
    try {
      response = await model.chat({ messages, tools: specs, signal });
    } catch (error) {
      const interrupted = abortHit(signal);
      if (interrupted !== null) return stop(interrupted);
      const message = errorMessage(error);
      inputs.log.error({ err: error }, 'model call failed');
      events.emit({ type: 'error', runId, elapsedMs: inputs.elapsedMs(), message });
      return { status: 'failed', answer: lastWords, reason: message, toolCalls, trace };
    }
    budget.record(response.usage);
    const step = budget.steps;
    const calls = withUniqueIds(response.toolCalls, step);
    // `content` is the answer alone: the client took the model's reasoning out (src/llm/reasoning.ts).
    const text = response.content?.trim() ?? '';
    const thought = response.reasoning?.trim() ?? '';
    if (text !== '') lastWords = text;
    events.emit({
      type: 'step',
      runId,
      elapsedMs: inputs.elapsedMs(),
      step,
      maxSteps: budget.limits.maxSteps,
      decision: calls.length > 0 ? 'tool_calls' : 'final',
      reasoning: thought !== '' ? thought : calls.length > 0 && text !== '' ? text : null,
      thinking: thought !== '',
      toolNames: calls.map((c) => c.name),
      usage: { ...budget.usage },
      costUsd: budget.costUsd,
    });

    if (calls.length === 0) {
      // Reasoning alone is not an answer (a model out of output tokens): ask again, as for an empty reply.
      if (text === '') {
        note = thought === '' ? EMPTY_REPLY_NOTE : REASONING_ONLY_NOTE;
        continue;
      }
      if (inputs.completionCheck !== true) return { status: 'succeeded', answer: text, toolCalls, trace };
      const checked = await missingFromGoal(inputs, inputs.goal ?? inputs.head.findLast((m) => m.role === 'user')?.content ?? '', text);
      lastWords = text;
      if ('hit' in checked) return stop(checked.hit);
      const { missing } = checked;
      if (missing === null) return { status: 'succeeded', answer: text, toolCalls, trace };
      rejections += 1;
      if (rejections > MAX_REJECTIONS || lastStep) {
        return { status: 'stopped', answer: text, reason: `Stopped: the completion check found the goal not met (${missing}).`, toolCalls, trace };
      }
      note = `A check found that the goal is not met yet: ${missing} Continue working on it; if it cannot be done, say why in your final answer.`;
      continue;
    }
    if (lastStep) return stop(stepsHit(stepLimit));
    const overspent = budget.afterCall();
    if (overspent !== null) return stop(overspent);

    // The next prompt gets what the model said, never its reasoning: thoughts sent back as the
    // assistant's text would read as things it said (and grow every later prompt).
    const record: StepRecord = { step, reasoning: response.content, toolCalls: calls, results: [] };
    for (const call of calls) {
      const verdict = guard.check(call, step);
      if (verdict.action === 'stop') return stop({ limit: 'loop', detail: verdict.detail });
      events.emit({
        type: 'tool_call',
        runId,
        elapsedMs: inputs.elapsedMs(),
        step,
        callId: call.id,
        tool: call.name,
        arguments: call.arguments,
      });
      const denied = await approvalGate(inputs, call, step);
      const outcome = denied ?? (await runTool(inputs, call));
      inputs.exposure.observe(tools.get(call.name), outcome);
      const interrupted = abortHit(signal);
      if (interrupted !== null) return stop(interrupted);
      toolCalls.total += 1;
      if (outcome.ok) toolCalls.succeeded += 1;
      const content = verdict.action === 'warn' ? `${outcome.content}\n\n${verdict.note}` : outcome.content;
      record.results.push({ callId: call.id, tool: call.name, ok: outcome.ok, content });
      if (inputs.trace === true) trace.push(`${call.name}(${oneLine(call.arguments.slice(0, 400), 120)}) → ${outcome.ok ? 'ok' : 'error'}: ${oneLine(outcome.content.slice(0, 800), 200)}`);
      events.emit({
        type: 'tool_result',
        runId,
        elapsedMs: inputs.elapsedMs(),
        step,
        callId: call.id,
        tool: call.name,
        ok: outcome.ok,
        content: outcome.content,
        truncated: outcome.truncated,
        durationMs: outcome.durationMs,
        ...(outcome.error === undefined ? {} : { errorKind: outcome.error.kind }),
      });
    }
    context.addStep(record);
  }
}

/** Runs one call (through the run's journal when it has one: recorded, or replayed after a restart). */
async function runTool(inputs: LoopInputs, call: ToolCall): Promise<ToolOutcome> {
  const { attach, replay } = inputs;
  const run = (attached: OutgoingFile[]) =>
    inputs.tools.run(call, {
      runId: inputs.runId,
      workspaceDir: inputs.workspaceDir,
      signal: inputs.signal,
      log: inputs.log,
      scope: inputs.scope,
      visibility: inputs.visibility,
      mayReach: (host) => inputs.exposure.mayReach(host),
      modelSpend: inputs.budget.asModelSpend(),
      ...(attach === undefined
        ? {}
        : {
            attach: (file: OutgoingFile) => {
              const result = attach(file);
              attached.push(file);
              return result;
            },
          }),
    });
  if (replay === undefined) return run([]);
  return replay.tool(call, inputs.tools.get(call.name), attach === undefined ? undefined : (file) => void attach(file), run);
}

/** When no approvals are configured: nothing is risky enough, and no one can be asked. */
const NO_APPROVALS = { policy: { minRisk: 'none', timeoutMs: 120_000 }, approver: noApprover } as const;

/**
 * Asks for approval when the call's tool is risky enough, or when the exposure guard holds it
 * back (whatever its risk); returns the refusal to show the model, or null when the call may run.
 * Unknown tools pass through: the registry reports them.
 */
async function approvalGate(inputs: LoopInputs, call: ToolCall, step: number): Promise<ToolOutcome | null> {
  const tool = inputs.tools.get(call.name);
  if (tool === undefined) return null;
  const approvals = inputs.approvals ?? NO_APPROVALS;
  const held = inputs.exposure.check(tool, call.arguments);
  const risky = needsApproval(tool.risk, approvals.policy);
  if (held === null && !risky) return null;
  const started = performance.now();
  const request: ApprovalRequest = {
    runId: inputs.runId,
    step,
    callId: call.id,
    tool: call.name,
    arguments: reviewable(call.arguments),
    risk: tool.risk,
    ...(held === null ? {} : { reason: held.reason }),
    timeoutMs: approvals.policy.timeoutMs,
  };
  const ask = async (): Promise<ApprovalDecision> => {
    try {
      return await approvals.approver(request, inputs.signal);
    } catch (error) {
      // An approver that breaks (Discord down, say) must not let the call through.
      inputs.log.warn({ err: error, tool: call.name }, 'asking for approval failed; denying the call');
      return { outcome: 'unavailable', by: null };
    }
  };
  const decision = inputs.replay === undefined ? await ask() : await inputs.replay.approval(call.id, ask);
  const waitedMs = Math.round(performance.now() - started);
  const guard = held === null ? {} : { heldFor: held.host ?? '(unknown destination)', exposedBy: inputs.exposure.reasons };
  inputs.log.info({ tool: call.name, callId: call.id, outcome: decision.outcome, by: decision.by, waitedMs, ...guard }, 'tool approval');
  inputs.events.emit({ type: 'approval', runId: inputs.runId, elapsedMs: inputs.elapsedMs(), step, callId: call.id, tool: call.name, outcome: decision.outcome, by: decision.by, waitedMs });
  if (decision.outcome === 'approved') {
    inputs.exposure.approved(tool, call.arguments);
    return null;
  }
  // A call its risk alone holds back gets the usual note; the guard's note is for calls held only by it.
  const content = held === null || risky ? refusalNote(call.name, decision) : heldCallNote(call.name, held, decision);
  return { ok: false, content, truncated: false, durationMs: 0, error: { kind: 'denied', message: content } };
}

/**
 * The arguments as they will be read: parsed and printed again, so a repeated key (JSON.parse
 * keeps the last) or padding cannot show the person one thing while another runs.
 */
function reviewable(raw: string): string {
  try {
    return JSON.stringify(JSON.parse(raw), null, 2);
  } catch {
    return raw;
  }
}
