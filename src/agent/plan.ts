import { z } from 'zod';
import { clip } from '../text.js';
import type { PlanItem } from './events.js';

/** A plan longer than this is a sign the goal should be split by the user, not by the agent. */
export const MAX_PLAN_TASKS = 8;

const TaskId = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_-]{1,20}$/, 'an id is 1–20 letters, digits, "-" or "_"');

const PlanTask = z.object({
  id: TaskId.describe('Short unique id, e.g. "t1".'),
  title: z.string().trim().min(1).max(200).describe('The task in a few words, imperative ("Fetch the status page").'),
  detail: z.string().max(1_000).describe('What to do and what result to hand on to later tasks.'),
  dependsOn: z.array(TaskId).max(MAX_PLAN_TASKS).describe('Ids of the tasks whose results this task needs (empty if none).'),
});
export type PlanTask = z.output<typeof PlanTask>;

/**
 * The planner's reply. `doneIds` are tasks already completed (when replanning): new tasks may
 * depend on them but not reuse their ids. Dependencies must exist and form no cycle, so the
 * plan can always be executed in some order.
 */
export function planSchema(doneIds: ReadonlySet<string> = new Set()) {
  return z
    .object({
      tasks: z.array(PlanTask).min(1).max(MAX_PLAN_TASKS).describe(`The tasks, at most ${MAX_PLAN_TASKS}, in a sensible order.`),
    })
    .superRefine((plan, ctx) => {
      for (const problem of planProblems(plan.tasks, doneIds)) ctx.addIssue({ code: 'custom', message: problem, path: ['tasks'] });
    });
}

/** What makes a list of tasks unexecutable, in words the model can fix. */
export function planProblems(tasks: readonly PlanTask[], doneIds: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const task of tasks) {
    if (ids.has(task.id)) problems.push(`task id "${task.id}" is used twice`);
    if (doneIds.has(task.id)) problems.push(`task id "${task.id}" is already taken by a completed task`);
    ids.add(task.id);
  }
  for (const task of tasks) {
    for (const dep of task.dependsOn) {
      if (dep === task.id) problems.push(`task "${task.id}" depends on itself`);
      else if (!ids.has(dep) && !doneIds.has(dep)) problems.push(`task "${task.id}" depends on "${dep}", which is not in the plan`);
    }
  }
  if (problems.length === 0 && executionOrder(tasks, doneIds) === null) problems.push('the dependencies form a cycle');
  return problems;
}

/** An order in which every task comes after its dependencies (plan order among equals), or null for a cycle. */
export function executionOrder<T extends PlanTask>(tasks: readonly T[], doneIds: ReadonlySet<string> = new Set()): T[] | null {
  const finished = new Set(doneIds);
  const remaining = [...tasks];
  const order: T[] = [];
  while (remaining.length > 0) {
    const index = remaining.findIndex((t) => t.dependsOn.every((d) => finished.has(d)));
    if (index === -1) return null;
    const [next] = remaining.splice(index, 1);
    if (next === undefined) return null;
    order.push(next);
    finished.add(next.id);
  }
  return order;
}

export type TaskState = PlanTask & { status: PlanItem['status']; result: string | null };

/** The plan as events carry it. */
export function planItems(tasks: readonly TaskState[]): PlanItem[] {
  return tasks.map((t) => ({ id: t.id, title: t.title, dependsOn: [...t.dependsOn], status: t.status }));
}

const MARK: Record<PlanItem['status'], string> = { pending: '[ ]', running: '[>]', done: '[x]', failed: '[!]' };

/** The plan as the model reads it, one task per line with status and dependencies. */
export function describePlan(tasks: readonly TaskState[]): string {
  return tasks
    .map((t) => `${MARK[t.status]} ${t.id}: ${t.title}${t.dependsOn.length > 0 ? ` (needs ${t.dependsOn.join(', ')})` : ''}`)
    .join('\n');
}

/** Results of completed tasks, each clipped so a long plan cannot blow up the prompt. */
export function describeResults(tasks: readonly TaskState[], only?: readonly string[], maxChars = 1_500): string {
  const chosen = tasks.filter((t) => t.status === 'done' && (only === undefined || only.includes(t.id)));
  if (chosen.length === 0) return '(none)';
  return chosen.map((t) => `### ${t.id}: ${t.title}\n${clip(t.result ?? '', maxChars)}`).join('\n\n');
}
