import type { Episode } from '../memory/episodes.js';
import type { Memory } from '../memory/memory.js';

/** The approach of a run as one line: the tools that worked, in order, then the answer. */
export function approachOf(episode: Episode): string {
  const steps = episode.steps
    .filter((s) => s.decision === 'tool_calls')
    .map((s) => s.tools.filter((t) => t.ok).map((t) => t.name).join(' + '))
    .filter((s) => s !== '');
  const plan = steps.length === 0 ? 'answered directly, without tools' : `${steps.map((s, i) => `${i + 1}. ${s}`).join('; ')}; then answered`;
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
