import { z } from 'zod';
import { chatStructured } from '../llm/structured.js';
import type { ChatModel } from '../llm/types.js';
import type { Logger } from '../log.js';

/** Whether a new report's finding differs from the previous one's. */
export type ChangeJudge = (goal: string, previous: string, current: string, signal: AbortSignal) => Promise<boolean>;

const ChangeVerdict = z.object({
  changed: z.boolean().describe('Does the new report state a different finding than the previous one?'),
  what: z.string().max(300).describe('What changed, in a few words; empty if nothing did.'),
});

const normalise = (text: string) => text.toLowerCase().replace(/\s+/g, ' ').trim();

/**
 * Identical text (ignoring case and spacing) is unchanged without a model call; otherwise the
 * model judges whether the finding changed, not the wording. If it cannot tell, the report
 * counts as changed: posting a repeat is better than hiding a change.
 */
export function modelChangeJudge(model: ChatModel, log: Logger): ChangeJudge {
  return async (goal, previous, current, signal) => {
    if (normalise(previous) === normalise(current)) return false;
    try {
      const { value } = await chatStructured(model, {
        name: 'report_change',
        schema: ChangeVerdict,
        signal,
        messages: [
          {
            role: 'system',
            content: 'You compare two reports on the same recurring goal. Judge whether the finding changed (new facts, different numbers or status), ignoring differences of wording, order or timestamps of the report itself.',
          },
          { role: 'user', content: `Goal: ${goal}\n\nPrevious report:\n${previous.slice(0, 4_000)}\n\nNew report:\n${current.slice(0, 4_000)}` },
        ],
      });
      return value.changed;
    } catch (error) {
      log.warn({ err: error }, 'could not compare reports; treating the new one as changed');
      return true;
    }
  };
}
