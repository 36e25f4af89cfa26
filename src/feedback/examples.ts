import type { Episode, StepSummary } from '../memory/episodes.js';
import type { Memory } from '../memory/memory.js';

/** The tools that worked in some steps, in order, e.g. "1. fetch + parse; 2. write_file". */
function toolSteps(steps: readonly StepSummary[]): string[] {
  return steps
    .filter((s) => s.decision === 'tool_calls')
    .map((s) => s.tools.filter((t) => t.ok).map((t) => t.name).join(' + '))
    .filter((s) => s !== '');
}

/**
 * The approach of a run as one line: the tools that worked, in order, then the answer. A plan
 * run lists its tasks with their tools; a reflexion run only its last (successful) attempt.
 */
export function approachOf(episode: Episode): string {
  const groups = new Map<string, StepSummary[]>();
  for (const step of episode.steps) {
    const key = step.stage ?? '';
    groups.set(key, [...(groups.get(key) ?? []), step]);
  }
  const stages = [...groups.keys()];
  let plan: string;
  if (stages.length > 0 && stages.every((k) => k.startsWith('Task '))) {
    const tasks = stages.map((k) => {
      const tools = toolSteps(groups.get(k) ?? []);
      return `${k.replace(/^Task \d+\/\d+: /, '')} (${tools.length === 0 ? 'no tools' : tools.join(', then ')})`;
    });
    plan = `a plan of ${tasks.length} task${tasks.length === 1 ? '' : 's'}: ${tasks.map((t, i) => `${i + 1}. ${t}`).join('; ')}; then the answer from their results`;
  } else {
    const lastAttempt = stages.filter((k) => k.startsWith('Attempt ')).at(-1);
    const steps = toolSteps(lastAttempt === undefined ? episode.steps : (groups.get(lastAttempt) ?? []));
    plan = steps.length === 0 ? 'answered directly, without tools' : `${steps.map((s, i) => `${i + 1}. ${s}`).join('; ')}; then answered`;
  }
  return `Approach that worked (👍) for “${episode.goal.replace(/\s+/g, ' ').slice(0, 300)}”: ${plan}.`;
}

/**
 * 👍 keeps the run's approach as a positive example for similar goals: a lesson-kind memory in
 * the run's scope (private for a private run). The same run voted up twice is kept once.
 */
export async function keepApproach(memory: Memory, episode: Episode): Promise<string> {
  const saved = await memory.semantic.save({
    text: approachOf(episode),
    kind: 'lesson',
    scope: episode.scope,
    visibility: episode.visibility === 'private' || episode.scope.channelId === undefined ? 'private' : 'channel',
    importance: 0.6,
    sourceRunId: episode.id,
    metadata: { example: true, appliesWhen: episode.goal },
  });
  if (saved.created) {
    await memory.episodes.addLesson(episode.id, saved.id);
    await memory.maintenance.refreshIndexes();
  }
  return saved.id;
}
