import type { ActionRowBuilder, ButtonBuilder } from 'discord.js';
import type { RunResult } from '../agent/events.js';
import { splitMessage } from './chunk.js';
import { feedbackRow } from './components.js';
import { leftFilesNote, NO_FILES, type AnswerFiles } from './files-out.js';

/** The text posted as a run's answer; a run that did not finish says so plainly. */
export function answerText(result: RunResult): string {
  if (result.status === 'succeeded') return result.answer ?? '(The run finished without an answer.)';
  const why = result.reason ?? result.status;
  const partial = result.answer === null ? '' : `\n\nWhat I had so far:\n${result.answer}`;
  return result.status === 'failed' ? `I could not finish: ${why}${partial}` : `I stopped before finishing. ${why}${partial}`;
}

/** One message of an answer; plain enough to send as a reply, follow-up, channel message or DM. */
export interface AnswerPart {
  content: string;
  components?: ActionRowBuilder<ButtonBuilder>[];
  /** Files posted with this message (the run's attachments), within Discord's limits per message. */
  files?: { attachment: Buffer; name: string }[];
}

/** The names of the files a part carries: posted once the part is. */
export function fileNames(part: AnswerPart): string[] {
  return (part.files ?? []).map((f) => f.name);
}

/**
 * The answer as messages within Discord's limits; the last text part carries the 👍/👎 buttons,
 * so every answer can be rated, including one cut short, and the run's first batch of files.
 * Files that did not fit Discord are named at the end of the text, with their size.
 * `retry`: the run keeps a run record (someone started it), so its starter may press 🔁 Retry.
 */
export function answerMessages(result: RunResult, files: AnswerFiles = NO_FILES, options: { retry?: boolean } = {}): AnswerPart[] {
  const note = leftFilesNote(files, result.runId);
  const chunks = splitMessage(note === '' ? answerText(result) : `${answerText(result)}\n\n${note}`);
  const parts = chunks.length === 0 ? ['(empty answer)'] : chunks;
  const [first, ...more] = files.batches.map((batch) => batch.map((f) => ({ attachment: f.data, name: f.name })));
  const messages: AnswerPart[] = parts.map((content, i) =>
    i === parts.length - 1 ? { content, components: [feedbackRow(result.runId, options)], ...(first === undefined ? {} : { files: first }) } : { content },
  );
  // More than one message's worth of files: the rest follow, numbered.
  for (const [i, batch] of more.entries()) messages.push({ content: `📎 More files (${i + 2}/${more.length + 1})`, files: batch });
  return messages;
}
