import { createHash } from 'node:crypto';
import { MessageFlags, RESTJSONErrorCodes, type ActionRowBuilder, type ButtonBuilder } from 'discord.js';
import { discordCode } from './errors.js';
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
  /** Always SuppressEmbeds: see NO_PREVIEWS. */
  flags: typeof NO_PREVIEWS;
  /** Set by postedOnce: Discord returns the message already posted with it instead of a second. */
  nonce?: string;
  enforceNonce?: boolean;
}

/**
 * Run output (status, steps, answers, reports, approval requests) is posted without link previews:
 * Discord's crawler fetches every URL in a message, so a link a model was talked into writing
 * ("…?q=<your notes>") would carry data out with no tool call for the exposure guard to hold.
 */
export const NO_PREVIEWS: MessageFlags.SuppressEmbeds = MessageFlags.SuppressEmbeds;

/** The flags of run output that is also ephemeral (a private run's replies). */
export const EPHEMERAL_NO_PREVIEWS = [MessageFlags.Ephemeral, MessageFlags.SuppressEmbeds] as const;

/**
 * Sends a part; when Discord refuses its files' size where it goes (40005: a DM or a channel
 * allows less than the interaction said), sends it again without them and names them after it,
 * so the answer and its buttons are never lost to a file. `filesPosted` says which happened.
 */
export async function sendPart<T>(part: AnswerPart, send: (part: AnswerPart) => Promise<T>, runId: string): Promise<{ sent: T; filesPosted: boolean }> {
  try {
    return { sent: await send(part), filesPosted: true };
  } catch (error) {
    if (part.files === undefined || part.files.length === 0 || discordCode(error) !== RESTJSONErrorCodes.RequestEntityTooLarge) throw error;
    const { files, ...text } = part;
    const sent = await send(text);
    const names = files.map((f) => `\`${f.name}\``).join(', ');
    await send({ content: `📎 Discord refused ${names} here as too large; ${files.length === 1 ? 'it is' : 'they are'} kept with the run: \`/runs show id:${runId}\``, flags: NO_PREVIEWS });
    return { sent, filesPosted: false };
  }
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
    i === parts.length - 1 ? { content, flags: NO_PREVIEWS, components: [feedbackRow(result.runId, options)], ...(first === undefined ? {} : { files: first }) } : { content, flags: NO_PREVIEWS },
  );
  // More than one message's worth of files: the rest follow, numbered.
  for (const [i, batch] of more.entries()) messages.push({ content: `📎 More files (${i + 2}/${more.length + 1})`, files: batch, flags: NO_PREVIEWS });
  return messages;
}

/** Discord's limit on a nonce's length (Create Message). */
const MAX_NONCE_CHARS = 25;

/**
 * A nonce for one message of a run's answer (`part`: its place), the same each time the answer is
 * delivered: a resumed run that delivers again after a crash mid-delivery gets back the messages
 * already posted instead of posting them twice (Create Message's enforce_nonce, for a few minutes).
 */
export function answerNonce(runId: string, part: string): string {
  const plain = `${runId}:${part}`;
  return plain.length <= MAX_NONCE_CHARS ? plain : createHash('sha256').update(plain).digest('base64url').slice(0, MAX_NONCE_CHARS);
}

/** The parts, each with its nonce enforced: posted once however often the run's answer is delivered (channel messages only). */
export function postedOnce(parts: readonly AnswerPart[], runId: string): AnswerPart[] {
  return parts.map((part, i) => ({ ...part, nonce: answerNonce(runId, String(i)), enforceNonce: true }));
}
