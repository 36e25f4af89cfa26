/**
 * The `run_records` table (the pattern of src/memory/schema.ts): an Arrow schema fixes the
 * columns, zod checks every row read back. Lists (attachments, files out) and the asked-about
 * message are JSON text columns, each checked and bounded on the way back.
 */
import { Bool, Field, Float64, Schema, Utf8 } from 'apache-arrow';
import { z } from 'zod';
import { jsonOf } from '../memory/schema.js';
import type { AskedMessage, RunRecord } from './types.js';

export const RUN_RECORDS_TABLE = 'run_records';

/** Longest goal kept: /agent takes 2,000 characters; Ask Cairn's instruction is shorter. */
export const MAX_GOAL_CHARS = 4_000;
/** Discord allows 10 attachments per message; a few slash options more would still fit. */
export const MAX_ATTACHMENTS = 25;
export const MAX_FILES_OUT = 50;
/** A Discord message holds at most 4,000 characters (with Nitro). */
export const MAX_ASKED_CHARS = 4_000;

const text = (name: string, nullable = false) => new Field(name, new Utf8(), nullable);

export const runRecordsSchema = new Schema([
  text('run_id'),
  text('user_id'),
  text('guild_id', true),
  text('channel_id'),
  text('goal'),
  text('mode', true),
  new Field('private', new Bool(), false),
  text('source'),
  text('attachments'),
  text('retry_of', true),
  text('files_out'),
  new Field('created_at', new Float64(), false),
  text('asked_about', true),
  // Kept apart from the JSON so that forgetting a person finds the messages they wrote.
  text('asked_author_id', true),
]);

const ID = z.string().min(1).max(64);

/** Bounds of the listed files' fields, as read back; records are cut to them on the way in. */
const MAX_NAME_CHARS = 1_024;
const MAX_URL_CHARS = 2_048;
const MAX_TYPE_CHARS = 255;
const MAX_PATH_CHARS = 4_096;
const MAX_AUTHOR_CHARS = 256;

export const AttachmentRefSchema = z.object({
  name: z.string().max(MAX_NAME_CHARS),
  url: z.string().max(MAX_URL_CHARS),
  size: z.number().int().nonnegative(),
  contentType: z.string().max(MAX_TYPE_CHARS).nullable(),
});

const FileOutSchema = z.object({
  name: z.string().max(MAX_NAME_CHARS),
  path: z.string().max(MAX_PATH_CHARS),
  bytes: z.number().int().nonnegative(),
  posted: z.boolean(),
});

const AskedSchema = z.object({
  messageId: ID,
  channelId: ID,
  authorId: ID,
  authorName: z.string().max(MAX_AUTHOR_CHARS),
  text: z.string().max(MAX_ASKED_CHARS),
  createdAt: z.number(),
});

export const RunRecordRow = z
  .object({
    run_id: ID,
    user_id: ID,
    guild_id: ID.nullable(),
    channel_id: ID,
    goal: z.string().max(MAX_GOAL_CHARS),
    mode: z.enum(['react', 'plan', 'reflexion']).nullable(),
    private: z.boolean(),
    source: z.enum(['slash', 'ask', 'mention', 'retry', 'schedule']),
    attachments: jsonOf(z.array(AttachmentRefSchema).max(MAX_ATTACHMENTS)),
    retry_of: ID.nullable(),
    files_out: jsonOf(z.array(FileOutSchema).max(MAX_FILES_OUT)),
    created_at: z.number(),
    asked_about: jsonOf(AskedSchema).nullable(),
    asked_author_id: ID.nullable(),
  })
  .transform(
    (r): RunRecord => ({
      runId: r.run_id,
      userId: r.user_id,
      guildId: r.guild_id,
      channelId: r.channel_id,
      goal: r.goal,
      mode: r.mode,
      private: r.private,
      source: r.source,
      attachments: r.attachments,
      retryOf: r.retry_of,
      filesOut: r.files_out,
      createdAt: r.created_at,
      ...(r.asked_about === null ? {} : { askedAbout: r.asked_about }),
    }),
  );

function clipText(value: string, max: number): string {
  return value.length <= max ? value : value.slice(0, max);
}

function boundedAsked(asked: AskedMessage): AskedMessage {
  return { ...asked, authorName: clipText(asked.authorName, MAX_AUTHOR_CHARS), text: clipText(asked.text, MAX_ASKED_CHARS) };
}

const byteCount = (n: number) => (Number.isFinite(n) ? Math.max(0, Math.floor(n)) : 0);

/**
 * Files in, as the schema reads them back. A name is cut; a file whose URL is longer than kept is
 * left out (a cut URL would fetch nothing, or something else), so the record still reads back.
 */
function boundedAttachments(attachments: RunRecord['attachments']): RunRecord['attachments'] {
  return attachments
    .filter((a) => a.url.length <= MAX_URL_CHARS)
    .slice(0, MAX_ATTACHMENTS)
    .map((a) => ({
      name: clipText(a.name, MAX_NAME_CHARS),
      url: a.url,
      size: byteCount(a.size),
      contentType: a.contentType === null || a.contentType.length > MAX_TYPE_CHARS ? null : a.contentType,
    }));
}

/** Files out, the same way: a name is cut, a file whose path cannot be kept whole is left out. */
export function boundedFilesOut(files: RunRecord['filesOut']): RunRecord['filesOut'] {
  return files
    .filter((f) => f.path.length <= MAX_PATH_CHARS)
    .slice(0, MAX_FILES_OUT)
    .map((f) => ({ name: clipText(f.name, MAX_NAME_CHARS), path: f.path, bytes: byteCount(f.bytes), posted: f.posted }));
}

/** The row for a record, bounded as the schema reads it back (an over-long value is cut or left out, never refused), so every record written reads back. */
export function runRecordRow(record: RunRecord): Record<string, string | number | boolean | null> {
  return {
    run_id: record.runId,
    user_id: record.userId,
    guild_id: record.guildId,
    channel_id: record.channelId,
    goal: clipText(record.goal, MAX_GOAL_CHARS),
    mode: record.mode,
    private: record.private,
    source: record.source,
    attachments: JSON.stringify(boundedAttachments(record.attachments)),
    retry_of: record.retryOf,
    files_out: JSON.stringify(boundedFilesOut(record.filesOut)),
    created_at: record.createdAt,
    asked_about: record.askedAbout === undefined ? null : JSON.stringify(boundedAsked(record.askedAbout)),
    asked_author_id: record.askedAbout?.authorId ?? null,
  };
}
