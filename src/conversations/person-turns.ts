/**
 * One person's conversation turns, for their export and for forgetting them: the turns they wrote,
 * every turn of their private conversations (their DMs), and Cairn's answers to them. An answer is
 * known to be theirs by its run id: a run answers one person, and the turn it answers carries the
 * same id. Other people's turns, Cairn's answers to other people, a shared conversation's summary
 * and a schedule's reports (answers to no one) are never included.
 *
 * Bounded work: the export reads full rows a batch at a time as they are taken, so a consumer that
 * stops (a size limit) never loads the rest; forgetting deletes by filter and reads only ids.
 */
import { z } from 'zod';
import type { Logger } from '../log.js';
import { pendingWrites, withCommitRetry, type Table } from '../memory/db.js';
import type { PersonTurns } from '../memory/memory.js';
import { sqlList, sqlString } from '../memory/schema.js';
import {
  CONVERSATIONS_TABLE,
  conversationRow,
  ConversationRow,
  conversationsSchema,
  LINKS_TABLE,
  linksSchema,
  parseRows,
  TURNS_TABLE,
  TurnRow,
  turnsSchema,
} from './schema.js';
import type { OpenTable } from './store.js';
import { CAIRN_AUTHOR, type Turn } from './types.js';

/** Turns read in full per query while exporting (a turn holds at most 6,000 characters). */
const EXPORT_BATCH = 100;
/** Values per `IN (…)` list when deleting answers or recounting conversations. */
const ID_BATCH = 500;

const TurnKeys = z.array(z.object({ id: z.string(), author_id: z.string(), run_id: z.string().nullable(), conversation_id: z.string(), created_at: z.number() }));
const Ids = z.array(z.object({ id: z.string() }));

/** The turns that are the person's own: written by them, or in a conversation private to them. */
const ownFilter = (userId: string): string => `(author_id = ${sqlString(userId)} OR owner_id = ${sqlString(userId)})`;

/**
 * Cairn's answers in shared conversations to these runs (private answers are the owner's own already).
 * Runs come from the person's own turns, so an answer to someone else never matches.
 */
const answersFilter = (runIds: readonly string[]): string => `(author_id = ${sqlString(CAIRN_AUTHOR)} AND owner_id IS NULL AND run_id IN ${sqlList(runIds)})`;

/** Newest first, as the rest of the export; an answer before the turn it answers when both share a millisecond. */
const newestFirst = (a: Turn, b: Turn): number => b.createdAt - a.createdAt || b.id.localeCompare(a.id);

function unique(values: readonly (string | null)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== null))];
}

function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class StoredPersonTurns implements PersonTurns {
  private tables: Promise<{ conversations: Table; turns: Table; links: Table }> | undefined;

  constructor(
    private readonly open: OpenTable,
    private readonly log: Logger,
  ) {}

  /** Opened on first use, as the store does; a failed open is tried again next time. */
  private async db(): Promise<{ conversations: Table; turns: Table; links: Table }> {
    this.tables ??= Promise.all([
      this.open(CONVERSATIONS_TABLE, conversationsSchema),
      this.open(TURNS_TABLE, turnsSchema),
      this.open(LINKS_TABLE, linksSchema),
    ]).then(
      ([conversations, turns, links]) => ({ conversations, turns, links }),
      (error: unknown) => {
        this.tables = undefined;
        throw error;
      },
    );
    return this.tables;
  }

  /** The person's turns and Cairn's answers to them, newest first (an answer just before what it answers). */
  async *turnsOf(userId: string): AsyncGenerator<Turn> {
    const { turns } = await this.db();
    await pendingWrites(turns);
    // Keys only (no text): the full rows are read page by page below.
    const keys = TurnKeys.parse(await turns.query().where(ownFilter(userId)).select(['id', 'author_id', 'run_id', 'conversation_id', 'created_at']).toArray());
    keys.sort((a, b) => b.created_at - a.created_at || b.id.localeCompare(a.id));
    for (const page of batches(keys, EXPORT_BATCH)) {
      const ids = new Set(page.map((k) => k.id));
      const runIds = unique(page.filter((k) => k.author_id === userId).map((k) => k.run_id));
      const own = await turns.query().where(`id IN ${sqlList([...ids])}`).limit(page.length).toArray();
      // One answer per run; the limit only bounds a store that somehow holds more.
      const answers = runIds.length === 0 ? [] : await turns.query().where(answersFilter(runIds)).limit(runIds.length * 2).toArray();
      // An answer that is also the person's own (a user id equal to Cairn's author id) is given once.
      const answersOnly = parseRows(TurnRow, answers, 'turn', this.log).filter((t) => !ids.has(t.id));
      yield* [...parseRows(TurnRow, own, 'turn', this.log), ...answersOnly].sort(newestFirst);
    }
  }

  /**
   * Deletes the person's turns and Cairn's answers to them, and their private conversations whole
   * (with the links that find them). Shared conversations stay, their turn counts corrected, so
   * everyone else's turns go on as before. Returns how many turns were deleted.
   */
  async forgetUser(userId: string): Promise<number> {
    const { conversations, turns, links } = await this.db();
    await pendingWrites(turns);
    const own = ownFilter(userId);
    // What the deletes need and no more: run ids find the answers, conversation ids the counts to fix.
    const keys = TurnKeys.parse(await turns.query().where(own).select(['id', 'author_id', 'run_id', 'conversation_id', 'created_at']).toArray());
    let deleted = (await withCommitRetry(turns, () => turns.delete(own))).numDeletedRows;
    for (const runIds of batches(unique(keys.filter((k) => k.author_id === userId).map((k) => k.run_id)), ID_BATCH)) {
      deleted += (await withCommitRetry(turns, () => turns.delete(answersFilter(runIds)))).numDeletedRows;
    }

    await pendingWrites(conversations);
    const owned = Ids.parse(await conversations.query().where(`owner_id = ${sqlString(userId)}`).select(['id']).toArray()).map((c) => c.id);
    for (const ids of batches(owned, ID_BATCH)) {
      await withCommitRetry(links, () => links.delete(`conversation_id IN ${sqlList(ids)}`));
      await withCommitRetry(conversations, () => conversations.delete(`id IN ${sqlList(ids)}`));
    }
    const gone = new Set(owned);
    await this.recount(unique(keys.map((k) => k.conversation_id)).filter((id) => !gone.has(id)));
    this.log.info({ userId, turns: deleted, privateConversations: owned.length }, 'forgot a person’s conversation turns');
    return deleted;
  }

  /** Sets each conversation's turn count to what is stored (the count decides when one is full). */
  private async recount(conversationIds: readonly string[]): Promise<void> {
    const { conversations, turns } = await this.db();
    for (const ids of batches(conversationIds, ID_BATCH)) {
      const rows = parseRows(ConversationRow, await conversations.query().where(`id IN ${sqlList(ids)}`).toArray(), 'conversation', this.log);
      if (rows.length === 0) continue;
      const updated = await Promise.all(rows.map(async (c) => conversationRow({ ...c, turns: await turns.countRows(`conversation_id = ${sqlString(c.id)}`) })));
      // Matched only: a conversation forgotten meanwhile is not brought back.
      await withCommitRetry(conversations, () => conversations.mergeInsert('id').whenMatchedUpdateAll().execute(updated));
    }
  }
}
