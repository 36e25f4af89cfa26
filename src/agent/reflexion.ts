import { z } from 'zod';
import { chatStructured } from '../llm/structured.js';
import type { ChatMessage } from '../llm/types.js';
import { clip, oneLine } from '../text.js';
import type { LimitHit } from './budget.js';
import { addCalls, emitStage, endsRun, stepShare, type ModeInputs } from './modes.js';
import { buildHead } from './prompt.js';
import { abortHit, stopReason } from './abort.js';
import { runReactLoop, type LoopOutcome } from './react.js';
import { missingFromGoal, sideCall } from './side-calls.js';

export const AttemptReflection = z.object({
  whatWentWrong: z.string().trim().min(1).max(600).describe('Why the attempt fell short of the goal, specifically.'),
  nextTime: z.string().trim().min(1).max(600).describe('What the next attempt must do differently, as a concrete instruction.'),
});
export type AttemptReflection = z.output<typeof AttemptReflection>;

/**
 * Reflexion: attempt the goal (a ReAct loop), evaluate the answer against the goal, and when it
 * falls short reflect on why and try again with the reflections in the prompt — up to the
 * configured number of attempts.
 */
export async function runReflexion(inputs: ModeInputs): Promise<LoopOutcome> {
  const toolCalls = { total: 0, succeeded: 0 };
  const trace: string[] = [];
  const reflections: string[] = [];
  const attempts = inputs.settings.reflexionAttempts;
  let answer: string | null = null;
  const stopped = (hit: LimitHit, reason = stopReason(hit)): LoopOutcome => ({ status: 'stopped', answer, reason, hit, toolCalls, trace });

  for (let attempt = 1; ; attempt++) {
    emitStage(inputs, 'attempt', `Attempt ${attempt} of ${attempts}`, null);
    const head = buildHead({ ...inputs.prompt, memory: withReflections(inputs.prompt.memory, reflections) });
    const outcome = await runReactLoop({ ...inputs, head, stepLimit: stepShare(inputs, attempts - attempt + 1), completionCheck: false, trace: true });
    addCalls(toolCalls, outcome.toolCalls);
    trace.push(...outcome.trace.map((line) => `attempt ${attempt}: ${line}`));
    if (outcome.answer !== null) answer = outcome.answer;
    if (outcome.status === 'failed') return { ...outcome, answer, toolCalls, trace };
    if (outcome.hit !== undefined && endsRun(outcome.hit, inputs)) return stopped(outcome.hit);

    const verdict = await evaluate(inputs, outcome);
    if ('hit' in verdict) return stopped(verdict.hit);
    const said = outcome.answer === null ? 'no answer' : `answer: “${oneLine(outcome.answer, 160)}”`;
    emitStage(inputs, 'evaluation', verdict.missing === null ? 'Goal met' : 'Goal not met yet', verdict.missing === null ? said : `${verdict.missing} (${said})`);
    if (verdict.missing === null) return { status: 'succeeded', answer: outcome.answer, toolCalls, trace };
    if (attempt >= attempts) {
      const hit: LimitHit = { limit: 'attempts', detail: `${attempts} attempt${attempts === 1 ? '' : 's'} did not meet the goal` };
      return stopped(hit, `Stopped: ${hit.detail} (last check: ${oneLine(verdict.missing, 300)}).`);
    }

    const reflection = await reflect(inputs, outcome, verdict.missing);
    if ('hit' in reflection) return stopped(reflection.hit);
    const text = `Attempt ${attempt}: ${reflection.whatWentWrong} Next time: ${reflection.nextTime}`;
    reflections.push(text);
    emitStage(inputs, 'reflection', `Reflection on attempt ${attempt}`, text);
  }
}

function withReflections(memory: string | null, reflections: readonly string[]): string | null {
  if (reflections.length === 0) return memory;
  const section = [
    'Your earlier attempts at this goal fell short. Reflections on them (do not repeat their mistakes):',
    ...reflections.map((r) => `- ${r}`),
  ].join('\n');
  return memory === null ? section : `${memory}\n\n${section}`;
}

/** What the attempt's answer misses, or null when it meets the goal (or the check cannot run). */
async function evaluate(inputs: ModeInputs, outcome: LoopOutcome): Promise<{ hit: LimitHit } | { missing: string | null }> {
  const answer = outcome.answer?.trim() ?? '';
  // An attempt that ran out of its steps did not finish, whatever its last words say.
  const cutShort = outcome.hit === undefined ? null : `The attempt was stopped: ${outcome.hit.detail}.`;
  if (answer === '') return { missing: `No answer was given.${cutShort === null ? '' : ` ${cutShort}`}` };
  const checked = await missingFromGoal(inputs, inputs.prompt.goal, answer);
  if ('hit' in checked || cutShort === null) return checked;
  return { missing: checked.missing === null ? cutShort : `${checked.missing} ${cutShort}` };
}

/** The model's reflection on a failed attempt; the evaluator's words stand in if it cannot be had. */
async function reflect(inputs: ModeInputs, outcome: LoopOutcome, missing: string): Promise<{ hit: LimitHit } | AttemptReflection> {
  const messages: ChatMessage[] = [
    {
      role: 'system',
      content: "You review an AI agent's failed attempt at a goal so that its next attempt succeeds. Be specific about the cause, and give one concrete instruction for the next attempt.",
    },
    {
      role: 'user',
      content: [
        `Goal:\n${inputs.prompt.goal}`,
        `What the agent did:\n${outcome.trace.length === 0 ? '(no tool calls)' : outcome.trace.slice(-12).map((l) => `- ${l}`).join('\n')}`,
        `Its answer:\n${clip(outcome.answer ?? '(none)', 3_000)}`,
        `Why it falls short (from a check against the goal):\n${missing}`,
      ].join('\n\n'),
    },
  ];
  try {
    const reflected = await sideCall(inputs, messages, () =>
      chatStructured(inputs.model, { name: 'attempt_reflection', schema: AttemptReflection, messages, signal: inputs.signal }),
    );
    return reflected.ok ? reflected.value : { hit: reflected.hit };
  } catch (error) {
    const interrupted = abortHit(inputs.signal);
    if (interrupted !== null) return { hit: interrupted };
    inputs.log.warn({ err: error }, 'reflection failed; retrying with the check result alone');
    return { whatWentWrong: oneLine(missing, 600), nextTime: 'Address exactly what the check found missing.' };
  }
}
