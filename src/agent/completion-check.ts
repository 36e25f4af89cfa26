import { z } from 'zod';
import { chatStructured } from '../llm/structured.js';
import type { ChatModel, TokenUsage } from '../llm/types.js';

export const Verdict = z.object({
  met: z.boolean().describe('Does the answer fully meet the goal?'),
  missing: z.string().max(500).describe('If not, what is missing or wrong, in one sentence; empty if met.'),
});
export type Verdict = z.output<typeof Verdict>;

/** How many times the check may send the agent back before the run stops as unfinished. */
export const MAX_REJECTIONS = 2;

/**
 * Asks the model, in a separate call with no tools, whether a final answer meets the goal —
 * so a run is "succeeded" because the goal was met, not merely because the model stopped
 * calling tools.
 */
export async function checkCompletion(model: ChatModel, goal: string, answer: string, signal: AbortSignal): Promise<{ value: Verdict; usage: TokenUsage }> {
  return chatStructured(model, {
    name: 'completion_check',
    schema: Verdict,
    signal,
    messages: [
      {
        role: 'system',
        content: 'You check the work of an AI agent. Judge only whether the answer meets the goal as stated; be strict about missing parts, lenient about style.',
      },
      { role: 'user', content: `Goal:\n${goal}\n\nAnswer:\n${answer.slice(0, 6_000)}` },
    ],
  });
}
