import { z } from 'zod';
import type { Turn } from '../conversations/types.js';
import type { Logger } from '../log.js';
import { MemoryDb, withCommitRetry } from './db.js';
import type { CacheSizes } from './cache-sizes.js';
import type { Embedder } from './embedders/types.js';
import { EpisodeStore, type Episode } from './episodes.js';
import { DEFAULT_MAINTENANCE, Maintenance, type MaintenanceOptions } from './maintenance.js';
import { drain, jsonObjectPieces } from './export.js';
import { sqlList, sqlString } from './schema.js';
import { SemanticMemory } from './semantic.js';
import { MEMORY_KINDS, type MemoryKind, type MemoryRecord } from './types.js';
import { WorkingMemory, type WorkingBlock } from './working.js';

export interface MemoryOptions {
  /** LanceDB URI: a local directory or s3://… */
  uri: string;
  embedder: Embedder;
  log: Logger;
  maintenance?: Partial<MaintenanceOptions>;
  /** Bounds on LanceDB's index and metadata caches, in MiB. */
  cacheMb?: CacheSizes;
  /** Open even if the stored vectors came from another embedder (export, forget, stats, reembed). */
  anyEmbedder?: boolean;
  /**
   * Other processes write this database at the same time (with a queue, src/queue): row updates
   * are then made under a lock across them and from the latest version. Off, only this process
   * writes rows (the embedded default), and they go without that lock.
   */
  shared?: boolean;
  now?: () => number;
  /**
   * A person's conversation turns, kept in tables of this database by src/conversations: exported
   * and forgotten with the rest (app.ts gives src/conversations/person-turns.ts). Without it the
   * export's `conversationTurns` is empty.
   */
  personTurns?: (db: MemoryDb) => PersonTurns;
}

/** What Memory needs of the conversation tables to export and forget one person's turns. */
export interface PersonTurns {
  /** The person's turns and Cairn's answers to them, newest first, read a batch at a time as they are taken. */
  turnsOf(userId: string): AsyncIterable<Turn>;
  /** Deletes them (by filter, without loading every row); returns how many turns went. */
  forgetUser(userId: string): Promise<number>;
  /** What the person's runs were asked (goal, files, the message asked about), newest first. */
  runRecordsOf?(userId: string): AsyncIterable<object>;
}

/** For a Memory without conversation tables: nothing to export or forget. */
const NO_TURNS: PersonTurns = {
  turnsOf: async function* () {
    // nothing kept
  },
  forgetUser: () => Promise.resolve(0),
};

/** Memories read in full (and parsed) per query while exporting. */
const EXPORT_BATCH = 100;
const MemoryKeys = z.array(z.object({ id: z.string(), created_at: z.number() }));

export interface UserExport {
  userId: string;
  exportedAt: string;
  memories: MemoryRecord[];
  workingMemory: WorkingBlock[];
  episodes: Episode[];
  /** Turns the person wrote, their private conversations' turns, and Cairn's answers to them. */
  conversationTurns: Turn[];
  /** What each of their runs was asked (goal, files in and out, the message asked about). */
  runRecords: object[];
}

export interface MemoryStats {
  uri: string;
  embedder: { id: string; dimensions: number };
  memories: number;
  byKind: Record<MemoryKind, number>;
  workingBlocks: number;
  episodes: number;
  indexes: { name: string; type: string; indexedRows: number; unindexedRows: number }[];
}

/** The whole memory system over one LanceDB database: working, episodic and semantic memory. */
export class Memory {
  private readonly background = new Set<Promise<unknown>>();

  private constructor(
    readonly db: MemoryDb,
    readonly embedder: Embedder,
    readonly semantic: SemanticMemory,
    readonly working: WorkingMemory,
    readonly episodes: EpisodeStore,
    readonly maintenance: Maintenance,
    private readonly uri: string,
    private readonly personTurns: PersonTurns,
  ) {}

  static async open(options: MemoryOptions): Promise<Memory> {
    const now = options.now ?? Date.now;
    const log = options.log.child({ component: 'memory' });
    const db = await MemoryDb.open(options.uri, {
      embedder: { id: options.embedder.id, dimensions: options.embedder.dimensions },
      anyEmbedder: options.anyEmbedder ?? false,
      log,
      cacheMb: options.cacheMb,
      shared: options.shared ?? false,
    });
    const maintenance = new Maintenance(db, log, { ...DEFAULT_MAINTENANCE, ...options.maintenance }, now);
    await maintenance.start();
    return new Memory(
      db,
      options.embedder,
      new SemanticMemory(db, options.embedder, maintenance, log, now),
      new WorkingMemory(db.working, now),
      new EpisodeStore(db.episodes),
      maintenance,
      options.uri,
      options.personTurns?.(db) ?? NO_TURNS,
    );
  }

  /** Everything kept about one user, as plain JSON-ready data, all in memory: see exportUserJson for surfaces. */
  async exportUser(userId: string): Promise<UserExport> {
    return {
      userId,
      exportedAt: new Date().toISOString(),
      memories: await drain(this.userMemories(userId)),
      workingMemory: await drain(this.userBlocks(userId)),
      episodes: await drain(this.episodes.newestFirst(`user_id = ${sqlString(userId)}`)),
      conversationTurns: await drain(this.personTurns.turnsOf(userId)),
      runRecords: await drain(this.runRecordsOf(userId)),
    };
  }

  /**
   * The same export as JSON text (UserExport's shape, two-space indent), one record per piece and
   * read from the database batch by batch as the pieces are taken: a consumer that stops early
   * (a size limit) never loads the rest.
   */
  exportUserJson(userId: string, exportedAt = new Date()): AsyncGenerator<string> {
    return jsonObjectPieces([
      { name: 'userId', value: userId },
      { name: 'exportedAt', value: exportedAt.toISOString() },
      { name: 'memories', items: this.userMemories(userId) },
      { name: 'workingMemory', items: this.userBlocks(userId) },
      { name: 'episodes', items: this.episodes.newestFirst(`user_id = ${sqlString(userId)}`) },
      { name: 'conversationTurns', items: this.personTurns.turnsOf(userId) },
      { name: 'runRecords', items: this.runRecordsOf(userId) },
    ]);
  }

  private async *runRecordsOf(userId: string): AsyncGenerator<object> {
    if (this.personTurns.runRecordsOf !== undefined) yield* this.personTurns.runRecordsOf(userId);
  }

  /** A user's memories, newest first, read EXPORT_BATCH at a time. */
  private async *userMemories(userId: string): AsyncGenerator<MemoryRecord> {
    const keys = await this.db.memories.query().where(SemanticMemory.userFilter(userId)).select(['id', 'created_at']).toArray();
    const ids = MemoryKeys.parse(keys)
      .sort((a, b) => b.created_at - a.created_at)
      .map((k) => k.id);
    for (let i = 0; i < ids.length; i += EXPORT_BATCH) {
      const page = ids.slice(i, i + EXPORT_BATCH);
      const position = new Map(page.map((id, index) => [id, index]));
      const records = await this.semantic.list(`id IN ${sqlList(page)}`, page.length);
      yield* records.sort((a, b) => (position.get(a.id) ?? 0) - (position.get(b.id) ?? 0));
    }
  }

  private async *userBlocks(userId: string): AsyncGenerator<WorkingBlock> {
    yield* (await this.working.blocksFor({ userId })).filter((b) => b.text !== '');
  }

  /** Deletes everything kept about one user: their memories, private blocks, runs and conversation turns. */
  async forgetUser(userId: string): Promise<{ memories: number; workingBlocks: number; episodes: number; conversationTurns: number }> {
    // By filter, in one delete: listing the rows first loaded every one of them (up to a million).
    const filter = SemanticMemory.userFilter(userId);
    const memories = await this.semantic.count(filter);
    if (memories > 0) await withCommitRetry(this.db.memories, () => this.db.memories.delete(filter));
    const workingBlocks = await this.working.forgetScope(`user:${userId}`);
    const episodes = await this.episodes.forgetUser(userId);
    const conversationTurns = await this.personTurns.forgetUser(userId);
    return { memories, workingBlocks, episodes, conversationTurns };
  }

  async stats(): Promise<MemoryStats> {
    const byKind = Object.fromEntries(
      await Promise.all(MEMORY_KINDS.map(async (kind) => [kind, await this.semantic.count(`kind = ${sqlString(kind)}`)] as const)),
    ) as Record<MemoryKind, number>;
    const indexes = (await this.db.memories.listIndices()).map((index) => ({ name: index.name, type: index.indexType, indexedRows: 0, unindexedRows: 0 }));
    for (const index of indexes) {
      const stats = await this.db.memories.indexStats(index.name);
      index.indexedRows = stats?.numIndexedRows ?? 0;
      index.unindexedRows = stats?.numUnindexedRows ?? 0;
    }
    return {
      uri: this.uri,
      embedder: { id: this.db.embedder.id, dimensions: this.db.embedder.dimensions },
      memories: await this.semantic.count(),
      byKind,
      workingBlocks: await this.db.working.countRows(),
      episodes: await this.db.episodes.countRows(),
      indexes,
    };
  }

  /**
   * Runs a write off the caller's path (e.g. after a run has answered); failures are logged.
   * `settled()` and `close()` wait for it, so nothing queued is lost on a clean stop.
   */
  track(work: Promise<unknown>, what: string, log: Logger): void {
    const tracked = work.catch((error: unknown) => {
      log.error({ err: error }, `${what} failed`);
    });
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }

  /** Resolves when all background writes have finished. */
  async settled(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  /** Waits for background writes, flushes pending maintenance (access counts), closes the database. */
  async close(): Promise<void> {
    await this.settled();
    await this.maintenance.close();
    this.db.close();
  }
}
