/**
 * The conversation tables in LanceDB: conversations, their turns, and the links (message ids,
 * thread ids, DM channels) that find them. Every row is checked on the way back; a row that does
 * not parse is left out and logged, never passed on half-typed. Everything is bounded: turns per
 * conversation (the caller checks `turns` against its maximum), text per turn, message ids per
 * turn, and conversations per channel (the oldest are forgotten past the limit).
 */
import { randomBytes } from 'node:crypto';
import type { Schema } from 'apache-arrow';
import type { z } from 'zod';
import type { Logger } from '../log.js';
import { pendingWrites, withCommitRetry, type Table } from '../memory/db.js';
import { GroupCommitter } from '../memory/group-commit.js';
import { tableUpkeep } from '../memory/table-upkeep.js';
import { sqlList, sqlString } from '../memory/schema.js';
import {
  CONVERSATIONS_TABLE,
  ConversationRow,
  conversationRow,
  conversationsSchema,
  LINKS_TABLE,
  LinkRow,
  linksSchema,
  parseRows,
  TURNS_TABLE,
  TurnRow,
  turnRow,
  turnsSchema,
} from './schema.js';
import { messageKey } from './keys.js';
import type { Conversation, ConversationKind, ConversationVisibility, NewTurn, Turn } from './types.js';

/** Opens (creating on first use) a table of the memory database: MemoryDb.table. */
export type OpenTable = (name: string, schema: Schema) => Promise<Table>;

export interface StoreLimits {
  /** Characters kept of one turn's text. */
  maxTurnChars: number;
  /** Conversations kept per channel; past it the least recently used are forgotten. */
  maxPerChannel: number;
}

export const DEFAULT_STORE_LIMITS: StoreLimits = { maxTurnChars: 6_000, maxPerChannel: 1_000 };

/** Message ids kept per turn (a 6,000-character answer takes at most 4 Discord messages). */
const MAX_MESSAGE_IDS = 20;

export interface NewConversation {
  kind: ConversationKind;
  visibility: ConversationVisibility;
  ownerId: string | null;
  guildId: string | null;
  channelId: string | null;
  /** A fixed id (a schedule's conversation); default: a fresh one. */
  id?: string;
}

interface Tables {
  conversations: Table;
  turns: Table;
  links: Table;
  write: { conversations: GroupCommitter; turns: GroupCommitter; links: GroupCommitter };
}

export class PrivateTurnError extends Error {
  constructor(conversationId: string) {
    super(`A private turn cannot join the shared conversation ${conversationId}.`);
    this.name = 'PrivateTurnError';
  }
}

/** A numeric message id (Discord's snowflakes grow with time, within a millisecond too). */
function messageNumber(turn: Turn): bigint | null {
  const first = turn.messageIds[0];
  return first !== undefined && /^\d{1,20}$/.test(first) ? BigInt(first) : null;
}

/**
 * Oldest first: by time; within one millisecond (a reply sent as the answer arrived) by message
 * id where both have one, else as stored together (a person's turn before the answer to it).
 */
function inOrder(a: Turn, b: Turn): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  const [x, y] = [messageNumber(a), messageNumber(b)];
  if (x !== null && y !== null && x !== y) return x < y ? -1 : 1;
  return a.id.localeCompare(b.id);
}

function clipTurn(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 14)} … [shortened]`;
}

/** A channel's conversations are counted again at least every this many created here. */
const RECOUNT_EVERY = 50;
/** Channels whose count is remembered; past it the memory starts afresh (each is counted again). */
const MAX_CHANNELS_REMEMBERED = 10_000;

export class ConversationStore {
  private tables: Promise<Tables> | undefined;
  /**
   * Per channel: its conversations when last counted, and how many were created here since. A new
   * conversation far under the limit needs no count (a query on every new conversation otherwise);
   * another process's creations are caught by the recount every RECOUNT_EVERY.
   */
  private readonly perChannel = new Map<string, { counted: number; since: number }>();

  constructor(
    private readonly open: OpenTable,
    private readonly log: Logger,
    private readonly limits: StoreLimits = DEFAULT_STORE_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Opened on first use: commands that never converse never create the tables. */
  private async db(): Promise<Tables> {
    this.tables ??= Promise.all([
      this.open(CONVERSATIONS_TABLE, conversationsSchema),
      this.open(TURNS_TABLE, turnsSchema),
      this.open(LINKS_TABLE, linksSchema),
    ]).then(
      ([conversations, turns, links]) => ({
        conversations,
        turns,
        links,
        // Every answer writes a few rows to each table: fifty runs ending together cost a few commits, not two hundred.
        write: { conversations: new GroupCommitter(conversations, 'id'), turns: new GroupCommitter(turns, 'id'), links: new GroupCommitter(links, 'key') },
      }),
      (error: unknown) => {
        // Not kept: the next call tries again.
        this.tables = undefined;
        throw error;
      },
    );
    return this.tables;
  }

  async get(id: string): Promise<Conversation | undefined> {
    const { conversations } = await this.db();
    await pendingWrites(conversations);
    const rows = await conversations.query().where(`id = ${sqlString(id)}`).limit(1).toArray();
    return this.parse(ConversationRow, rows, 'conversation')[0];
  }

  /** The conversation the first linked key leads to (keys in order of preference), if any. */
  async find(keys: readonly string[]): Promise<Conversation | undefined> {
    if (keys.length === 0) return undefined;
    const { links } = await this.db();
    await pendingWrites(links);
    const found = this.parse(LinkRow, await links.query().where(`key IN ${sqlList(keys)}`).limit(keys.length * 2).toArray(), 'link');
    for (const key of keys) {
      const link = found.find((l) => l.key === key);
      if (link === undefined) continue;
      const conversation = await this.get(link.conversation_id);
      if (conversation !== undefined) return conversation;
    }
    return undefined;
  }

  /** A new, empty conversation reached by `keys`; the channel's oldest are forgotten past the limit. */
  async create(input: NewConversation, keys: readonly string[]): Promise<Conversation> {
    const { write } = await this.db();
    const at = this.now();
    const conversation: Conversation = {
      id: input.id ?? `c-${at.toString(36)}-${randomBytes(4).toString('hex')}`,
      kind: input.kind,
      visibility: input.visibility,
      ownerId: input.ownerId,
      guildId: input.guildId,
      channelId: input.channelId,
      createdAt: at,
      updatedAt: at,
      turns: 0,
    };
    await write.conversations.put(conversation.id, conversationRow(conversation));
    await this.link(conversation, keys);
    if (conversation.channelId !== null) await this.bound(conversation.channelId);
    return conversation;
  }

  /** Points `keys` at the conversation (a key that led elsewhere now leads here). */
  async link(conversation: Conversation, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const { write } = await this.db();
    const at = this.now();
    const rows = [...new Set(keys)].map((key) => ({ key, conversation_id: conversation.id, channel_id: conversation.channelId, created_at: at }));
    await Promise.all(rows.map((row) => write.links.put(row.key, row)));
  }

  /** The conversation's turns, oldest first. */
  async turns(conversationId: string): Promise<Turn[]> {
    const { turns } = await this.db();
    await pendingWrites(turns);
    const rows = await turns.query().where(`conversation_id = ${sqlString(conversationId)}`).toArray();
    return this.parse(TurnRow, rows, 'turn').sort(inOrder);
  }

  /**
   * Stores turns (text and message ids bounded) and links `keys` to the conversation. A private
   * turn in a shared conversation is refused: what someone said privately never reaches a thread.
   */
  async append(conversation: Conversation, added: readonly NewTurn[], keys: readonly string[] = []): Promise<Conversation> {
    const stored: Turn[] = added.map((t, n) => {
      const visibility = t.visibility ?? conversation.visibility;
      if (visibility === 'private' && conversation.visibility !== 'private') throw new PrivateTurnError(conversation.id);
      return {
        ...t,
        id: `t-${t.createdAt.toString(36)}-${n}-${randomBytes(3).toString('hex')}`,
        conversationId: conversation.id,
        text: clipTurn(t.text, this.limits.maxTurnChars),
        visibility,
        ownerId: visibility === 'private' ? (conversation.ownerId ?? t.authorId) : null,
        messageIds: t.messageIds.slice(0, MAX_MESSAGE_IDS),
      };
    });
    const { turns, write } = await this.db();
    await Promise.all(stored.map((turn) => write.turns.put(turn.id, turnRow(turn))));
    // Counted, not added up: another exchange may have been stored since `conversation` was read.
    const count = await turns.countRows(`conversation_id = ${sqlString(conversation.id)}`);
    const updated: Conversation = { ...conversation, turns: count, updatedAt: this.now() };
    await write.conversations.put(updated.id, conversationRow(updated));
    await this.link(updated, [...keys, ...stored.flatMap((t) => t.messageIds.map(messageKey))]);
    return updated;
  }

  /** Keeps only the newest `keep` turns (a schedule keeps its last few reports). */
  async keepNewest(conversation: Conversation, keep: number): Promise<void> {
    const all = await this.turns(conversation.id);
    const old = all.slice(0, Math.max(0, all.length - keep));
    if (old.length === 0) return;
    const { conversations, turns } = await this.db();
    await withCommitRetry(turns, () => turns.delete(`id IN ${sqlList(old.map((t) => t.id))}`));
    const updated = { ...conversation, turns: all.length - old.length };
    await withCommitRetry(conversations, () => conversations.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute([conversationRow(updated)]));
    // A schedule trims its reports on every firing.
    tableUpkeep.noteCommit(turns);
    tableUpkeep.noteCommit(conversations);
  }

  /** Deletes a conversation, its turns and its links. */
  async forget(conversationIds: readonly string[]): Promise<void> {
    if (conversationIds.length === 0) return;
    const { conversations, turns, links } = await this.db();
    const ids = sqlList(conversationIds);
    await withCommitRetry(turns, () => turns.delete(`conversation_id IN ${ids}`));
    await withCommitRetry(links, () => links.delete(`conversation_id IN ${ids}`));
    await withCommitRetry(conversations, () => conversations.delete(`id IN ${ids}`));
  }

  /** Past the per-channel limit, the least recently used conversations of the channel are forgotten. */
  private async bound(channelId: string): Promise<void> {
    const known = this.perChannel.get(channelId);
    if (known !== undefined && known.since < RECOUNT_EVERY && known.counted + known.since + 1 <= this.limits.maxPerChannel) {
      known.since += 1;
      return;
    }
    const { conversations } = await this.db();
    const where = `channel_id = ${sqlString(channelId)}`;
    await pendingWrites(conversations);
    const count = await conversations.countRows(where);
    if (this.perChannel.size >= MAX_CHANNELS_REMEMBERED) this.perChannel.clear();
    this.perChannel.set(channelId, { counted: Math.min(count, this.limits.maxPerChannel), since: 0 });
    if (count <= this.limits.maxPerChannel) return;
    const all = this.parse(ConversationRow, await conversations.query().where(where).toArray(), 'conversation');
    const stale = all.sort((a, b) => a.updatedAt - b.updatedAt).slice(0, count - this.limits.maxPerChannel);
    this.log.info({ channelId, forgotten: stale.length }, 'a channel has too many conversations; the least recently used are forgotten');
    await this.forget(stale.map((c) => c.id));
  }

  private parse<S extends z.ZodType>(schema: S, rows: unknown[], what: string): z.output<S>[] {
    return parseRows(schema, rows, what, this.log);
  }
}
