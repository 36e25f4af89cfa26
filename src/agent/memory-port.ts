import type { Trigger, StepSummary } from '../memory/episodes.js';
import type { RunScope, Visibility } from '../memory/types.js';
import type { AgentMode, RunResult } from './events.js';

export type { RunScope, Trigger, StepSummary, Visibility };

/** What the agent tells memory about a run. */
export interface RunInfo {
  runId: string;
  goal: string;
  mode: AgentMode;
  trigger: Trigger;
  scope: RunScope;
  /** Where the run's conversation turns are kept: private to the user, or shared in its channel. */
  visibility: Visibility;
  /** Who pays for the run and what follows from it (a reflection): the user, or a scheduled run's creator. */
  billedTo: string;
  startedAt: Date;
}

/** What memory gives a run before it starts. */
export interface RunMemoryContext {
  /** A section for the system prompt (working blocks, lessons, relevant memories), or null. */
  prompt: string | null;
  workingBlocks: number;
  memories: number;
  lessons: number;
  /** Items in `prompt` written by someone other than the run's user; any makes the run exposed (src/agent/exposure.ts). */
  fromOthers: number;
}

/**
 * The agent's view of memory: recall before a run, record after it. Implemented by the memory
 * module; the agent works without one (no recall, nothing recorded).
 */
export interface AgentMemory {
  /** Records the run as started (so a crash leaves a trace) and recalls its context. */
  beforeRun(run: RunInfo, signal: AbortSignal): Promise<RunMemoryContext>;
  /** Completes the episode and stores the goal and answer as conversation turns. */
  afterRun(run: RunInfo, result: RunResult, steps: StepSummary[]): Promise<void>;
}
