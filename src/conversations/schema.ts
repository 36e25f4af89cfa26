/**
 * LanceDB layouts of the conversation tables (the pattern of src/memory/schema.ts): Arrow schemas
 * fix the columns, zod checks every row read back. Timestamps are epoch milliseconds in Float64.
 */
import { Field, Float64, Int32, Schema, Utf8 } from 'apache-arrow';
import { z } from 'zod';
import type { Logger } from '../log.js';
import { CONVERSATION_KINDS, type Conversation, type Turn } from './types.js';

const text = (name: string, nullable = false) => new Field(name, new Utf8(), nullable);
const float = (name: string, nullable = false) => new Field(name, new Float64(), nullable);

export const CONVERSATIONS_TABLE = 'conversations';
export const TURNS_TABLE = 'conversation_turns';
export const LINKS_TABLE = 'conversation_links';

/** One row per conversation: where it is, who may read it, how big it is. */
export const conversationsSchema = new Schema([
  text('id'),
  text('kind'),
  text('visibility'),
  text('owner_id', true),
  text('guild_id', true),
  text('channel_id', true),
  float('created_at'),
  float('updated_at'),
  new Field('turns', new Int32(), false),
]);

const Visibility = z.enum(['private', 'channel']);

export const ConversationRow = z
  .object({
    id: z.string(),
    kind: z.enum(CONVERSATION_KINDS),
    visibility: Visibility,
    owner_id: z.string().nullable(),
    guild_id: z.string().nullable(),
    channel_id: z.string().nullable(),
    created_at: z.number(),
    updated_at: z.number(),
    turns: z.number().int().nonnegative(),
  })
  .transform(
    (r): Conversation => ({
      id: r.id,
      kind: r.kind,
      visibility: r.visibility,
      ownerId: r.owner_id,
      guildId: r.guild_id,
      channelId: r.channel_id,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      turns: r.turns,
    }),
  );

export function conversationRow(c: Conversation): Record<string, string | number | null> {
  return {
    id: c.id,
    kind: c.kind,
    visibility: c.visibility,
    owner_id: c.ownerId,
    guild_id: c.guildId,
    channel_id: c.channelId,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    turns: c.turns,
  };
}

/** One row per turn; `message_ids` is a JSON array of the surface's message ids. */
export const turnsSchema = new Schema([
  text('id'),
  text('conversation_id'),
  text('role'),
  text('author_id'),
  text('author_name'),
  text('text'),
  text('run_id', true),
  text('visibility'),
  text('owner_id', true),
  text('message_ids'),
  float('created_at'),
]);

const MessageIds = z.string().transform((raw, ctx): string[] => {
  try {
    const parsed = z.array(z.string()).safeParse(JSON.parse(raw));
    if (parsed.success) return parsed.data;
  } catch {
    // reported below
  }
  ctx.addIssue({ code: 'custom', message: 'message_ids is not a JSON array of strings' });
  return z.NEVER;
});

export const TurnRow = z
  .object({
    id: z.string(),
    conversation_id: z.string(),
    role: z.enum(['user', 'assistant']),
    author_id: z.string(),
    author_name: z.string(),
    text: z.string(),
    run_id: z.string().nullable(),
    visibility: Visibility,
    owner_id: z.string().nullable(),
    message_ids: MessageIds,
    created_at: z.number(),
  })
  .transform(
    (r): Turn => ({
      id: r.id,
      conversationId: r.conversation_id,
      role: r.role,
      authorId: r.author_id,
      authorName: r.author_name,
      text: r.text,
      runId: r.run_id,
      visibility: r.visibility,
      ownerId: r.owner_id,
      messageIds: r.message_ids,
      createdAt: r.created_at,
    }),
  );

export function turnRow(t: Turn): Record<string, string | number | null> {
  return {
    id: t.id,
    conversation_id: t.conversationId,
    role: t.role,
    author_id: t.authorId,
    author_name: t.authorName,
    text: t.text,
    run_id: t.runId,
    visibility: t.visibility,
    owner_id: t.ownerId,
    message_ids: JSON.stringify(t.messageIds),
    created_at: t.createdAt,
  };
}

/**
 * What finds a conversation: a key the surface chose (a message id of either side, a thread id, a
 * DM channel id) → the conversation. One key leads to one conversation; relinking moves it.
 */
export const linksSchema = new Schema([text('key'), text('conversation_id'), text('channel_id', true), float('created_at')]);

export const LinkRow = z.object({ key: z.string(), conversation_id: z.string(), channel_id: z.string().nullable(), created_at: z.number() });

/** Rows that parse; the others are logged and left out, never passed on half-typed. */
export function parseRows<S extends z.ZodType>(schema: S, rows: unknown[], what: string, log: Logger): z.output<S>[] {
  const out: z.output<S>[] = [];
  for (const row of rows) {
    const parsed = schema.safeParse(row);
    if (parsed.success) out.push(parsed.data);
    else log.warn({ issue: parsed.error.issues[0]?.message, table: what }, `a stored ${what} row is malformed and was skipped`);
  }
  return out;
}
