/**
 * Where a run started by an interaction (/agent, 🔁 Retry, Ask Cairn) is shown, by ids: kept with
 * its durable record (src/durable) so that a restarted bot shows it again in the same places —
 * the status message edited on, steps in its thread, approvals and the answer where they went.
 * The interaction's token is kept with it (it edits a private run's ephemeral reply while it lives,
 * 15 minutes) and goes when the run ends.
 */
import { z } from 'zod';
import { CONVERSATION_KINDS } from '../conversations/types.js';
import { AttachmentRefSchema, MAX_ATTACHMENTS } from '../runs/schema.js';

const id = z.string().min(1).max(64);

/** A conversation as stored with a surface (src/conversations/types.ts Conversation). */
export const StoredConversation = z.object({
  id,
  kind: z.enum(CONVERSATION_KINDS),
  visibility: z.enum(['private', 'channel']),
  ownerId: id.nullable(),
  guildId: id.nullable(),
  channelId: id.nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
  turns: z.number().int().nonnegative(),
});

/** Files to fetch when the run starts (records from before there were queued runs have none). */
export const StoredAttachments = z.array(AttachmentRefSchema).max(MAX_ATTACHMENTS).default([]);

export const SlashSurface = z.object({
  kind: z.literal('slash'),
  runId: id,
  userId: id,
  /** The starter's username (the run's speaker) and display name (the conversation's turn). */
  userName: z.string().max(200),
  displayName: z.string().max(200),
  guildId: id.nullable(),
  /** Where the interaction happened (a thread's id inside a thread). */
  channelId: id,
  /** The channel access is checked in (a thread's parent). */
  parentChannelId: id,
  private: z.boolean(),
  applicationId: id,
  token: z.string().min(1).max(500),
  /** When the interaction arrived (its token dies 15 minutes later). */
  createdAt: z.number(),
  attachmentSizeLimit: z.number().int().positive(),
  /** The reply carrying the status (null for a private run: its ephemeral reply has no channel message). */
  statusMessageId: id.nullable(),
  /** The run's thread of step summaries, if it has one. */
  threadId: id.nullable(),
  /** Ask Cairn in a thread: the answer goes into the thread, under the message asked about. */
  answerInThread: z.boolean(),
  /** Lines under the status: the Retry notice, what became of the files. */
  notes: z.string().max(20_000),
  /** The conversation the run's turns join (its thread's, or the one a Retry continues). */
  conversation: StoredConversation.nullable(),
  /** Files sent with the goal, not fetched yet: a queued run's worker fetches them when it starts it. */
  attachments: StoredAttachments,
});
export type SlashSurface = z.output<typeof SlashSurface>;
