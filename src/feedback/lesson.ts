import { z } from 'zod';
import type { ChatMessage } from '../llm/types.js';
import type { Episode } from '../memory/episodes.js';
import type { ReflectionRow } from '../memory/schema.js';

/** What a reflection must produce: validated, so a rambling model cannot store a non-lesson. */
export const Lesson = z.object({
  wentWrong: z.string().min(1).max(400).describe('What went wrong, in one sentence.'),
  doInstead: z.string().min(1).max(400).describe('What to do instead next time, as an instruction.'),
  appliesWhen: z.string().min(1).max(300).describe('Which future goals this applies to, in the words such a goal would use.'),
});
export type Lesson = z.output<typeof Lesson>;

/** How a lesson is stored and recalled: when it applies first, so a goal in those words finds it. */
export function lessonText(lesson: Lesson): string {
  return `When ${lesson.appliesWhen.replace(/\.$/, '')}: ${lesson.doInstead} (Earlier mistake: ${lesson.wentWrong})`;
}

/** The review a reflection asks of the model: the run's steps, its answer and what went wrong. */
export function reviewPrompt(episode: Episode, request: ReflectionRow): ChatMessage[] {
  // Plan and reflexion runs head each task or attempt with its title.
  const steps = episode.steps.flatMap((s, i) => [
    ...(s.stage !== undefined && s.stage !== episode.steps[i - 1]?.stage ? [`[${s.stage}]`] : []),
    `${s.step}. ${s.decision === 'final' ? 'answer' : s.tools.map((t) => `${t.name} ${t.ok ? 'ok' : 'FAILED'}`).join(', ')}${s.reasoning === null ? '' : ` — ${s.reasoning}`}`,
  ]);
  const feedback =
    request.cause === 'down_vote' ? `The user rated the answer 👎${request.comment === null ? ' without a comment.' : `: "${request.comment}"`}` : `The run ${request.cause}: ${episode.reason ?? 'no reason given'}.`;
  return [
    {
      role: 'system',
      content:
        'You review a run of an AI agent that went wrong and write ONE lesson for its future runs: what went wrong, what to do instead, and when it applies. Be specific and actionable; write the lesson for the agent, not the user.',
    },
    {
      role: 'user',
      content: [`Goal: ${episode.goal}`, `Mode: ${episode.mode}`, `Steps:\n${steps.join('\n') || '(none)'}`, `Answer: ${(episode.answer ?? '(none)').slice(0, 2_000)}`, feedback].join('\n\n'),
    },
  ];
}
