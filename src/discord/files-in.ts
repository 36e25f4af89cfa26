/**
 * Files people hand Cairn on Discord (`/agent` attachment options, a conversation message's
 * attachments): described as Discord gave them, downloaded from its CDN only (src/files), and
 * the refusals put into words that name each file.
 */
import type { Attachment } from 'discord.js';
import { fetchAttachments, humanBytes, sanitiseFileName, type AttachmentRef, type FileRefusal, type Intake } from '../files/index.js';
import { errorMessage } from '../text.js';
import type { BotApp } from './context.js';

/** More than any message carries (Discord: 10): a bound on what is described before the intake counts. */
const MAX_REFS = 25;

/** Discord's attachments as the intake takes them: name, CDN URL, reported size and type, nothing else. */
export function attachmentRefs(attachments: Iterable<Attachment | null>): AttachmentRef[] {
  const refs: AttachmentRef[] = [];
  for (const a of attachments) {
    if (a === null || refs.length >= MAX_REFS) continue;
    refs.push({ name: a.name, url: a.url, size: Number.isFinite(a.size) ? a.size : 0, contentType: a.contentType });
  }
  return refs;
}

/**
 * Downloads the files within the configured limits. Never throws: a failure of the intake
 * itself refuses every file with the reason, and the run goes on without them.
 */
export async function takeFiles(bot: BotApp, refs: AttachmentRef[], signal: AbortSignal): Promise<Intake> {
  if (refs.length === 0) return { files: [], refused: [] };
  try {
    return await fetchAttachments(refs, { cdnOrigins: bot.app.config.files.cdnOrigins, limits: bot.app.config.files.limits, signal });
  } catch (error) {
    bot.log.warn({ err: error }, 'the file intake failed');
    return { files: [], refused: refs.map((r) => ({ name: r.name, reason: `could not be fetched (${errorMessage(error)})` })) };
  }
}

/** A file name as shown in a reply: sanitised, in a code span it cannot close, so it renders and pings nothing. */
export function shownName(name: string): string {
  return `\`${sanitiseFileName(name).replaceAll('`', "'")}\``;
}

/** "📥 Fetching 2 files…" */
export function fetchingText(count: number): string {
  return `📥 Fetching ${count} file${count === 1 ? '' : 's'}…`;
}

/**
 * One line per file for the person who sent them: what was taken, and what was not and why.
 * Empty when no file was sent.
 */
export function intakeNote(intake: Intake): string {
  const lines: string[] = [];
  if (intake.files.length > 0) {
    lines.push(`📎 ${intake.files.map((f) => `${shownName(f.name)} (${humanBytes(f.bytes.length)})`).join(', ')}`);
  }
  for (const refusal of intake.refused) lines.push(refusalLine(refusal));
  return lines.join('\n');
}

function refusalLine(refusal: FileRefusal): string {
  return `⚠️ Not taken: ${shownName(refusal.name)} — ${refusal.reason.replaceAll('@', '@\u200b').slice(0, 300)}`;
}
