/**
 * What was asked of a run started from Discord, kept so that it can be retried with the same
 * goal, files, mode and settings after a restart, and so that `/runs show` can list its retries
 * and where its files are.
 */
import type { AgentMode } from '../agent/events.js';
import type { AttachmentRef, OutgoingFile } from '../files/types.js';

/** `schedule`: a scheduled report (kept for `/runs show`; reports are re-run with `/schedule run`, not Retry). */
export type RunSource = 'slash' | 'ask' | 'mention' | 'retry' | 'schedule';

/**
 * The message an "Ask Cairn" run was asked about, as Discord resolved it: a retry shows it to the
 * run again. Its text is data written by `authorId` (untrusted when that is not the starter).
 */
export interface AskedMessage {
  messageId: string;
  channelId: string;
  authorId: string;
  authorName: string;
  text: string;
  /** When it was posted, epoch ms. */
  createdAt: number;
}

export interface RunRecord {
  runId: string;
  /** The person who started it: the only one who may retry it. */
  userId: string;
  guildId: string | null;
  channelId: string;
  goal: string;
  /** The mode asked for; null: the place's default at the time of the run. */
  mode: AgentMode | null;
  private: boolean;
  source: RunSource;
  /** Files in, as Discord gave them (a retry downloads them again). */
  attachments: AttachmentRef[];
  /** The run this one retries, or null. */
  retryOf: string | null;
  /** Files out: attached to the answer (`posted`) or left in the workspace (too large, too many). */
  filesOut: (OutgoingFile & { posted: boolean })[];
  createdAt: number;
  /** Ask Cairn: the message it was asked about (absent for other sources). */
  askedAbout?: AskedMessage;
}

/** Run records, zod-checked at the store's edge. */
export interface RunRecords {
  save(record: RunRecord): Promise<void>;
  get(runId: string): Promise<RunRecord | null>;
  /** Ids of the runs that retry `runId`, oldest first. */
  retriesOf(runId: string): Promise<string[]>;
  setFilesOut(runId: string, files: RunRecord['filesOut']): Promise<void>;
  /** Opens the store at start (and keeps it tidy from then on), so a first lookup is quick. */
  ready(): Promise<void>;
  /** Stops the daily pruning and waits for the opening and the writes under way. */
  close(): Promise<void>;
}
