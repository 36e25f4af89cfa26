import { chatStructured } from '../llm/structured.js';
import { clip, errorMessage, oneLine } from '../text.js';
import type { LimitHit } from './budget.js';
import { addCalls, emitStage, endsRun, stepShare, type ModeInputs } from './modes.js';
import { executionOrder, planItems, planSchema, type TaskState } from './plan.js';
import { plannerMessages, synthesisMessages, taskRequest, TASK_FAILED_MARK, type Replan } from './plan-prompts.js';
import { buildHead } from './prompt.js';
import { abortHit, stopReason } from './abort.js';
import { runReactLoop, type LoopOutcome } from './react.js';
import { missingFromGoal, sideCall } from './side-calls.js';

/** Why a part of the run could not go on: a limit of the whole run, or an error (model down, bad plan). */
type Halt = { hit: LimitHit } | { error: string };

/**
 * Plan-and-Execute: the model writes a plan of tasks with dependencies; each task runs as a
 * ReAct loop (in dependency order, with the results it depends on); a failed task makes the
 * model replan the rest, up to a limit; the answer is written from the tasks' results.
 */
export async function runPlanAndExecute(inputs: ModeInputs): Promise<LoopOutcome> {
  const toolCalls = { total: 0, succeeded: 0 };
  const trace: string[] = [];
  let tasks: TaskState[] = [];
  let replans = 0;
  // Set from inside plan() when replanning is used up; an object so the narrowing sees it change.
  const end: { unfinished: string | null } = { unfinished: null };

  const halted = (halt: Halt): LoopOutcome => {
    const answer = tasks.some((t) => t.status === 'done') ? partialAnswer(tasks) : null;
    if ('error' in halt) return { status: 'failed', answer, reason: halt.error, toolCalls, trace };
    return { status: 'stopped', answer, reason: stopReason(halt.hit), hit: halt.hit, toolCalls, trace };
  };

  /** Makes the first plan, or a new one after `failure`; false when replanning is used up. */
  const plan = async (failure: Replan['failed'] | null): Promise<Halt | boolean> => {
    if (failure !== null && replans >= inputs.settings.planReplans) {
      end.unfinished = `task ${failure.id} ("${failure.title}") failed: ${failure.reason}`;
      return false;
    }
    const made = await makePlan(inputs, failure === null ? null : { tasks, failed: failure });
    if ('hit' in made || 'error' in made) return made;
    if (failure !== null) replans += 1;
    tasks = [...tasks.filter((t) => t.status === 'done'), ...made.tasks.map((t): TaskState => ({ ...t, status: 'pending', result: null }))];
    const title = failure === null ? `Plan: ${count(tasks.length, 'task')}` : `New plan (${replans} of ${inputs.settings.planReplans}) after task ${failure.id} failed`;
    emitStage(inputs, 'plan', title, failure === null ? null : failure.reason, planItems(tasks));
    return true;
  };

  const first = await plan(null);
  if (typeof first !== 'boolean') return halted(first);

  for (;;) {
    const pending = tasks.filter((t) => t.status === 'pending');
    const done = new Set(tasks.filter((t) => t.status === 'done').map((t) => t.id));
    const task = executionOrder(pending, done)?.[0];
    if (task === undefined) {
      const { unfinished } = end;
      const answer = await synthesize(inputs, tasks, unfinished);
      if ('hit' in answer || 'error' in answer) return halted(answer);
      const missing = unfinished === null ? await judge(inputs, answer.text) : null;
      if (missing !== null && typeof missing !== 'string') return halted(missing);
      if (missing !== null) {
        const again = await plan({ id: 'answer', title: 'the final answer', reason: `the answer did not meet the goal: ${missing}`, trace: [] });
        if (typeof again !== 'boolean') return halted(again);
        if (again) continue;
        return { status: 'stopped', answer: answer.text, reason: `Stopped: the completion check found the goal not met (${missing}).`, toolCalls, trace };
      }
      if (unfinished !== null) return { status: 'failed', answer: answer.text, reason: `The plan could not be completed: ${unfinished}.`, toolCalls, trace };
      return { status: 'succeeded', answer: answer.text, toolCalls, trace };
    }

    task.status = 'running';
    const position = tasks.indexOf(task) + 1;
    emitStage(inputs, 'task', `Task ${position}/${tasks.length}: ${task.title}`, task.detail === '' ? null : oneLine(task.detail, 300), planItems(tasks));
    const head = buildHead({ ...inputs.prompt, history: [], goal: taskRequest(inputs.prompt.goal, tasks, task) });
    const outcome = await runReactLoop({ ...inputs, head, stepLimit: stepShare(inputs, pending.length), completionCheck: false, trace: true });
    addCalls(toolCalls, outcome.toolCalls);
    trace.push(...outcome.trace.map((line) => `${task.id}: ${line}`));
    if (outcome.status === 'failed') {
      task.status = 'failed';
      return { status: 'failed', answer: null, reason: outcome.reason ?? 'a model call failed', toolCalls, trace };
    }
    if (outcome.hit !== undefined && endsRun(outcome.hit, inputs)) {
      task.status = 'failed';
      return halted({ hit: outcome.hit });
    }
    const failure = taskFailure(outcome);
    if (failure === null) {
      task.status = 'done';
      task.result = clip(outcome.answer ?? '', 4_000);
      continue;
    }
    task.status = 'failed';
    const again = await plan({ id: task.id, title: task.title, reason: failure, trace: outcome.trace });
    if (typeof again !== 'boolean') return halted(again);
    if (!again) tasks = tasks.filter((t) => t.status === 'done' || t.status === 'failed');
  }
}

async function makePlan(inputs: ModeInputs, replan: Replan | null): Promise<Halt | { tasks: TaskState[] }> {
  const doneIds = new Set(replan?.tasks.filter((t) => t.status === 'done').map((t) => t.id) ?? []);
  const messages = plannerMessages(inputs.prompt, inputs.tools.specs(), replan);
  try {
    const made = await sideCall(inputs, messages, () =>
      chatStructured(inputs.model, { name: 'plan', schema: planSchema(doneIds), messages, signal: inputs.signal }),
    );
    if (!made.ok) return { hit: made.hit };
    return { tasks: made.value.tasks.map((t) => ({ ...t, status: 'pending', result: null })) };
  } catch (error) {
    return interruption(inputs) ?? { error: `Planning failed: ${errorMessage(error)}` };
  }
}

async function synthesize(inputs: ModeInputs, tasks: readonly TaskState[], unfinished: string | null): Promise<Halt | { text: string }> {
  emitStage(inputs, 'synthesis', 'Writing the answer from the results', null, planItems(tasks));
  const messages = synthesisMessages(inputs.prompt, tasks, unfinished);
  try {
    const reply = await sideCall(inputs, messages, async () => {
      const response = await inputs.model.chat({ messages, signal: inputs.signal });
      return { value: response.content?.trim() ?? '', usage: response.usage };
    });
    if (!reply.ok) return { hit: reply.hit };
    return { text: reply.value === '' ? partialAnswer(tasks) : reply.value };
  } catch (error) {
    return interruption(inputs) ?? { error: errorMessage(error) };
  }
}

/** With the completion check on: what the answer misses (null when met or when the check cannot run). */
async function judge(inputs: ModeInputs, answer: string): Promise<Halt | string | null> {
  if (inputs.completionCheck !== true) return null;
  const checked = await missingFromGoal(inputs, inputs.prompt.goal, answer);
  return 'hit' in checked ? checked : checked.missing;
}

/** Why a task did not deliver a result, or null when it did. */
function taskFailure(outcome: LoopOutcome): string | null {
  if (outcome.hit?.limit === 'loop') return `it went in circles (${outcome.hit.detail})`;
  if (outcome.hit !== undefined) return 'it used its share of the steps without finishing';
  const answer = outcome.answer?.trim() ?? '';
  if (answer === '') return 'it gave no result';
  const marked = answer.replace(/^[\W_]+/, '');
  if (marked.toUpperCase().startsWith(TASK_FAILED_MARK.slice(0, -1))) {
    return oneLine(marked.slice(TASK_FAILED_MARK.length).replace(/^[\W_]+/, ''), 500) || 'the task reported that it could not be done';
  }
  return null;
}

/** What a run that ends early can still show: the results of the tasks that were done. */
function partialAnswer(tasks: readonly TaskState[]): string {
  const done = tasks.filter((t) => t.status === 'done');
  return `The plan was not finished. Results of the ${count(done.length, 'completed task')}:\n\n${done.map((t) => `**${t.title}**\n${clip(t.result ?? '', 1_500)}`).join('\n\n')}`;
}

function interruption(inputs: ModeInputs): Halt | null {
  const hit = abortHit(inputs.signal);
  return hit === null ? null : { hit };
}


function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
