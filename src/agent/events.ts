import type { Logger } from '../log.js';
import type { OutgoingFile } from '../files/types.js';
import type { TokenUsage } from '../llm/types.js';

/** The agent's typed event stream. Surfaces (terminal, Discord, traces) render these. */

export type AgentMode = 'react' | 'plan' | 'reflexion';
export type RunStatus = 'succeeded' | 'failed' | 'stopped';
/** `attempts`: reflexion used all its attempts without meeting the goal. */
export type LimitKind = 'steps' | 'tokens' | 'cost' | 'time' | 'loop' | 'attempts' | 'cancelled';

/**
 * The parts of a mode's own structure (plan-and-execute's plan and tasks, reflexion's attempts,
 * evaluations and reflections). Every mode emits the same step/tool events; stages add to them.
 */
export type StageKind = 'plan' | 'task' | 'synthesis' | 'attempt' | 'evaluation' | 'reflection';

export interface PlanItem {
  id: string;
  title: string;
  dependsOn: string[];
  status: 'pending' | 'running' | 'done' | 'failed';
}

export interface RunResult {
  runId: string;
  goal: string;
  mode: AgentMode;
  status: RunStatus;
  /** The final answer; for a stopped run, the last thing the model said (may be null). */
  answer: string | null;
  /** Model calls made. */
  steps: number;
  maxSteps: number;
  usage: TokenUsage;
  /** Estimated cost in USD; null when the model's price is unknown (never a made-up 0). */
  costUsd: number | null;
  toolCalls: { total: number; succeeded: number };
  /** Why a run stopped or failed, in words a user can act on. */
  reason?: string;
  limit?: LimitKind;
  startedAt: string;
  endedAt: string;
  workspaceDir: string;
  /** Files the run attached to its answer (attach_file), in order; absent when none. Paths are relative to workspaceDir. */
  attachments?: OutgoingFile[];
}

interface EventBase {
  runId: string;
  /** Milliseconds since the run started. */
  elapsedMs: number;
  /**
   * Emitted again while a resumed run is replayed from its journal (src/agent/journal.ts): it
   * happened before the restart and was shown then. Surfaces rebuild their state from it and post nothing.
   */
  replayed?: true;
}

export type RunEvent = EventBase &
  (
    | {
        type: 'started';
        goal: string;
        mode: AgentMode;
        model: string;
        maxSteps: number;
        workspaceDir: string;
        /** What memory contributed; null when the run has no memory (or recall failed). */
        memory: { workingBlocks: number; memories: number; lessons: number } | null;
      }
    | {
        type: 'step';
        step: number;
        maxSteps: number;
        decision: 'tool_calls' | 'final';
        /**
         * The step's reasoning: the model's own (a server's reasoning field or `<think>` tags,
         * kept out of answers and prompts) when it gave one, else the text it wrote alongside
         * its tool calls.
         */
        reasoning: string | null;
        /** True when `reasoning` is the model's own reasoning: surfaces show it dimmed or hidden. */
        thinking?: boolean;
        toolNames: string[];
        usage: TokenUsage;
        costUsd: number | null;
      }
    | { type: 'tool_call'; step: number; callId: string; tool: string; arguments: string }
    | {
        /** A risky call's approval: between its tool_call and its tool_result. */
        type: 'approval';
        step: number;
        callId: string;
        tool: string;
        outcome: 'approved' | 'denied' | 'timed_out' | 'unavailable';
        by: string | null;
        waitedMs: number;
      }
    | {
        type: 'tool_result';
        step: number;
        callId: string;
        tool: string;
        ok: boolean;
        /** The observation as the model sees it (may be long: renderers shorten it). */
        content: string;
        truncated: boolean;
        durationMs: number;
        errorKind?: string;
      }
    | {
        type: 'stage';
        stage: StageKind;
        /** One line a surface can show as is, e.g. "Task 2/4: fetch the status page". */
        title: string;
        detail: string | null;
        /** The whole plan with each task's status (plan-and-execute only). */
        plan: PlanItem[] | null;
      }
    | {
        /** A run a restart interrupted goes on: its journal was replayed up to here. */
        type: 'resumed';
        /** Model calls it had made before (the step it goes on from). */
        step: number;
        /** How many times it has been resumed, this one included. */
        resumes: number;
      }
    | { type: 'limit'; limit: LimitKind; detail: string }
    | { type: 'error'; message: string }
    | { type: 'final'; result: RunResult }
  );

/** A consumer of run events. It may be async; the run never waits on it mid-flight. */
export type RunSink = (event: RunEvent) => void | Promise<void>;

/**
 * Fans events out to every sink. A sink that throws or rejects is logged and skipped — a broken
 * renderer must not break the run. `flush()` waits for async sinks before the run returns.
 */
export class EventFanout {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly sinks: readonly RunSink[],
    private readonly log: Logger,
  ) {}

  /** Whether the run is being replayed from its journal: its events are then marked `replayed`. */
  replaying: () => boolean = () => false;

  emit(given: RunEvent): void {
    const event: RunEvent = this.replaying() ? { ...given, replayed: true } : given;
    for (const sink of this.sinks) {
      try {
        const maybe = sink(event);
        if (maybe instanceof Promise) {
          const tracked: Promise<void> = maybe
            .catch((error: unknown) => {
              this.log.warn({ err: error, event: event.type }, 'run event sink failed');
            })
            .finally(() => this.pending.delete(tracked));
          this.pending.add(tracked);
        }
      } catch (error) {
        this.log.warn({ err: error, event: event.type }, 'run event sink failed');
      }
    }
  }

  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
