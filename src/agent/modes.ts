import type { LimitHit } from './budget.js';
import type { PlanItem, StageKind } from './events.js';
import { buildHead, type PromptInputs } from './prompt.js';
import { runReactLoop, type LoopInputs, type LoopOutcome } from './react.js';

export interface ModeSettings {
  /** Reflexion: attempts before the run stops as unfinished. */
  reflexionAttempts: number;
  /** Plan-and-execute: new plans allowed after failed tasks. */
  planReplans: number;
}

export const DEFAULT_MODE_SETTINGS: ModeSettings = { reflexionAttempts: 3, planReplans: 2 };

/** What every mode gets: the loop's inputs, the parts of the prompt, and the modes' limits. */
export interface ModeInputs extends Omit<LoopInputs, 'head' | 'stepLimit'> {
  prompt: PromptInputs;
  settings: ModeSettings;
}

export type ModeRunner = (inputs: ModeInputs) => Promise<LoopOutcome>;

export function runReactMode(inputs: ModeInputs): Promise<LoopOutcome> {
  return runReactLoop({ ...inputs, head: buildHead(inputs.prompt), goal: inputs.prompt.goal });
}

export function emitStage(inputs: ModeInputs, stage: StageKind, title: string, detail: string | null, plan: PlanItem[] | null = null): void {
  inputs.events.emit({ type: 'stage', runId: inputs.runId, elapsedMs: inputs.elapsedMs(), stage, title, detail, plan });
}

/** Whether a limit ends the whole run, rather than only a task's or an attempt's share of steps. */
export function endsRun(hit: LimitHit, inputs: ModeInputs): boolean {
  if (hit.limit === 'loop') return false;
  if (hit.limit === 'steps') return inputs.budget.steps >= inputs.budget.limits.maxSteps;
  return true;
}

/** Steps for one part of the run: a fair share of what is left, at least two (act, then answer). */
export function stepShare(inputs: ModeInputs, partsLeft: number): number {
  const left = inputs.budget.limits.maxSteps - inputs.budget.steps;
  return inputs.budget.steps + Math.min(left, Math.max(2, Math.ceil(left / Math.max(1, partsLeft))));
}

export function addCalls(total: LoopOutcome['toolCalls'], part: LoopOutcome['toolCalls']): void {
  total.total += part.total;
  total.succeeded += part.succeeded;
}
