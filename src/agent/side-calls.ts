import type { Logger } from '../log.js';
import { usageOf } from '../llm/errors.js';
import { estimateTokens } from '../llm/tokens.js';
import type { ChatMessage, ChatModel, TokenUsage } from '../llm/types.js';
import type { Budget, LimitHit } from './budget.js';
import { checkCompletion } from './completion-check.js';
import { abortHit } from './abort.js';

export interface SideCallInputs {
  model: ChatModel;
  budget: Budget;
  signal: AbortSignal;
  log: Logger;
}

/**
 * A model call that is not a step (planning, evaluation, reflection, synthesis): held to the
 * run's token and cost budgets and its cancellation, and charged to them. Returns the limit
 * that forbids it instead of calling.
 */
export async function sideCall<T>(
  inputs: SideCallInputs,
  messages: ChatMessage[],
  call: () => Promise<{ value: T; usage: TokenUsage }>,
): Promise<{ ok: true; value: T } | { ok: false; hit: LimitHit }> {
  const before = abortHit(inputs.signal) ?? inputs.budget.beforeCall(estimateTokens(messages), false);
  if (before !== null) return { ok: false, hit: before };
  try {
    const { value, usage } = await call();
    inputs.budget.charge(usage);
    return { ok: true, value };
  } catch (error) {
    // A reply that stayed malformed was still paid for.
    const spent = usageOf(error);
    if (spent !== undefined) inputs.budget.charge(spent);
    throw error;
  }
}

/**
 * The completion check as a side call: what the answer misses, or null when it meets the goal.
 * A check that cannot run (malformed reply, model down) accepts the answer — it must not fail
 * a run that may well be fine — but cancellation and limits still stop the run.
 */
export async function missingFromGoal(inputs: SideCallInputs, goal: string, answer: string): Promise<{ hit: LimitHit } | { missing: string | null }> {
  const estimate: ChatMessage[] = [{ role: 'user', content: `${goal}\n${answer.slice(0, 6_000)}` }];
  try {
    const checked = await sideCall(inputs, estimate, () => checkCompletion(inputs.model, goal, answer, inputs.signal));
    if (!checked.ok) return { hit: checked.hit };
    return { missing: checked.value.met ? null : checked.value.missing.trim() || 'the answer does not fully meet the goal.' };
  } catch (error) {
    const interrupted = abortHit(inputs.signal);
    if (interrupted !== null) return { hit: interrupted };
    inputs.log.warn({ err: error }, 'completion check failed; accepting the answer');
    return { missing: null };
  }
}
