/**
 * What `/runs show` says of a run's record: the run it retries, its retries, the files it was
 * given and the files it gave back (posted, or left in its workspace because Discord would not
 * take them).
 */
import { humanBytes } from '../files/limits.js';
import { oneLine } from '../text.js';
import type { RunRecord } from './types.js';

/** Names listed per kind before "and N more": the whole reply is capped at 2,000 characters. */
const MAX_LISTED = 8;

function listed<T>(items: readonly T[], line: (item: T) => string): string[] {
  const shown = items.slice(0, MAX_LISTED).map(line);
  return items.length > MAX_LISTED ? [...shown, `- … and ${items.length - MAX_LISTED} more`] : shown;
}

export function runRecordLines(record: RunRecord, retries: readonly string[]): string[] {
  const lines: string[] = [];
  if (record.retryOf !== null) lines.push(`🔁 Retry of \`${record.retryOf}\``);
  if (record.askedAbout !== undefined) lines.push(`💬 Asked about a message by ${oneLine(record.askedAbout.authorName, 60)} (<t:${Math.floor(record.askedAbout.createdAt / 1000)}:f>)`);
  if (retries.length > 0) lines.push(`**Retries**: ${retries.map((id) => `\`${id}\``).join(', ')}`);
  if (record.attachments.length > 0) {
    lines.push('**Files in**', ...listed(record.attachments, (f) => `- ${oneLine(f.name, 80)} (${humanBytes(f.size)})`));
  }
  if (record.filesOut.length > 0) {
    lines.push(
      '**Files out**',
      ...listed(record.filesOut, (f) =>
        f.posted ? `- ${oneLine(f.name, 80)} (${humanBytes(f.bytes)}), posted` : `- ${oneLine(f.name, 80)} (${humanBytes(f.bytes)}), too large for Discord, kept in the workspace: \`${oneLine(f.path, 120)}\``,
      ),
    );
  }
  return lines;
}
