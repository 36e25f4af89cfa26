import type { ChatMessage, ToolSpec } from '../llm/types.js';
import { oneLine } from '../text.js';
import { describePlan, describeResults, MAX_PLAN_TASKS, type TaskState } from './plan.js';
import { goalMessage, operatorSection, type PromptInputs } from './prompt.js';
import { filesRule } from './run-files.js';

/** How a task says it could not be done; anything else it replies is its result. */
export const TASK_FAILED_MARK = 'TASK FAILED:';

/** The system prompt's context; with files, only their rule: the list goes with the goal (goalMessage). */
function context(prompt: PromptInputs, withFiles: boolean): string[] {
  return [
    `Context: it is ${prompt.now.toISOString()} (server time zone ${prompt.timeZone}).`,
    ...operatorSection(prompt),
    ...(withFiles ? filesRule(prompt.files ?? []) : []),
    ...(prompt.memory === null ? [] : ['', prompt.memory]),
    ...(prompt.briefing == null ? [] : ['', prompt.briefing]),
  ];
}

export interface Replan {
  tasks: readonly TaskState[];
  failed: { id: string; title: string; reason: string; trace: readonly string[] };
}

/** The planner's request: the goal, the tools, and (when replanning) what was done and what failed. */
export function plannerMessages(prompt: PromptInputs, tools: readonly ToolSpec[], replan: Replan | null): ChatMessage[] {
  const system = [
    "You are Cairn's planner. Break the user's goal into a short plan of concrete tasks that an agent with the tools below will carry out one at a time.",
    'Rules:',
    `- At most ${MAX_PLAN_TASKS} tasks; fewer is better. A simple goal needs one task.`,
    '- Each task is self-contained: its detail says exactly what to do and what result to hand on, without relying on the conversation.',
    '- dependsOn lists the tasks whose results a task needs; a task only sees the results of the tasks it depends on.',
    '- Do not add a task for writing the final answer: it is written from the results after the plan.',
    'Tools the agent can use:',
    ...tools.map((t) => `- ${t.name}: ${oneLine(t.description, 160)}`),
    ...context(prompt, true),
  ].join('\n');
  const ask = replan === null ? prompt.goal : replanRequest(prompt.goal, replan);
  // The planner sees the images too: what a picture shows can decide the plan.
  return [{ role: 'system', content: system }, ...prompt.history, goalMessage(prompt, ask)];
}

function replanRequest(goal: string, { tasks, failed }: Replan): string {
  const done = tasks.filter((t) => t.status === 'done').map((t) => t.id);
  return [
    `Goal:\n${goal}`,
    `The plan so far:\n${describePlan(tasks)}`,
    `Results of completed tasks:\n${describeResults(tasks, undefined, 600)}`,
    `Task ${failed.id} ("${failed.title}") failed: ${failed.reason}`,
    ...(failed.trace.length === 0 ? [] : [`What it tried:\n${failed.trace.slice(-8).map((line) => `- ${line}`).join('\n')}`]),
    [
      'Write a new plan for the rest of the work, taking a different approach where the failed task went wrong.',
      done.length === 0 ? '' : `Completed tasks (${done.join(', ')}) stay done: depend on their ids instead of repeating them.`,
    ].join(' '),
  ].join('\n\n');
}

/** What the agent is asked for one task: the goal, the plan, the results it needs, the task. */
export function taskRequest(goal: string, tasks: readonly TaskState[], task: TaskState): string {
  return [
    `You are carrying out one task of a plan for this goal:\n${goal}`,
    `Plan:\n${describePlan(tasks)}`,
    ...(task.dependsOn.length === 0 ? [] : [`Results of the tasks this one needs:\n${describeResults(tasks, task.dependsOn)}`]),
    `Your task now (${task.id}): ${task.title}\n${task.detail}`,
    `Do only this task. When it is done, reply with its result as plain text and no tool call: the facts or outputs later tasks need. If it cannot be done, reply starting with "${TASK_FAILED_MARK}" and say why.`,
  ].join('\n\n');
}

/** The request for the final answer, written from the tasks' results. */
export function synthesisMessages(prompt: PromptInputs, tasks: readonly TaskState[], unfinished: string | null): ChatMessage[] {
  const system = [
    "You are Cairn. A plan was carried out for the user's goal; write the final answer from the results of its tasks.",
    '- Answer the goal directly and completely, in plain text.',
    '- Use only what the results say; never invent facts.',
    '- If part of the goal could not be done, say which part and why.',
    // No files: the answer is written from the tasks' results, and the files' text is not shown again.
    ...context(prompt, false),
  ].join('\n');
  const results = describeResults(tasks, undefined, 3_000);
  const note = unfinished === null ? '' : `\n\nNot done: ${unfinished}`;
  return [
    { role: 'system', content: system },
    ...prompt.history,
    { role: 'user', content: `Goal:\n${prompt.goal}\n\nPlan:\n${describePlan(tasks)}\n\nResults:\n${results}${note}` },
  ];
}
