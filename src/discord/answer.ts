import type { ActionRowBuilder, ButtonBuilder } from 'discord.js';
import type { RunResult } from '../agent/events.js';
import { splitMessage } from './chunk.js';
import { feedbackRow } from './components.js';

/** The text posted as a run's answer; a run that did not finish says so plainly. */
export function answerText(result: RunResult): string {
  if (result.status === 'succeeded') return result.answer ?? '(The run finished without an answer.)';
  const why = result.reason ?? result.status;
  const partial = result.answer === null ? '' : `\n\nWhat I had so far:\n${result.answer}`;
  return result.status === 'failed' ? `I could not finish: ${why}${partial}` : `I stopped before finishing. ${why}${partial}`;
}

/**
 * The answer as messages within Discord's limits; the last carries the 👍/👎 buttons, so every
 * answer can be rated, including one cut short.
 */
/** One message of an answer; plain enough to send as a reply, follow-up, channel message or DM. */
export interface AnswerPart {
  content: string;
  components?: ActionRowBuilder<ButtonBuilder>[];
}

export function answerMessages(result: RunResult): AnswerPart[] {
  const chunks = splitMessage(answerText(result));
  const parts = chunks.length === 0 ? ['(empty answer)'] : chunks;
  return parts.map((content, i) => (i === parts.length - 1 ? { content, components: [feedbackRow(result.runId)] } : { content }));
}
