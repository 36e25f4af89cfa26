import { writeLock, type WriteLock } from './write-lock.js';
import * as lancedb from '@lancedb/lancedb';
import type { Schema } from 'apache-arrow';
import { z } from 'zod';
import type { Logger } from '../log.js';
import { DEFAULT_CACHE_MB, OTHER_TABLES_INDEX_CACHE_MB, type CacheSizes } from './cache-sizes.js';
import { configureLance } from './lance-env.js';
import { MemoriesHandle } from './memories-handle.js';
import { episodesSchema, memoriesSchema, metaSchema, reflectionsSchema, schedulesSchema, spendSchema, sqlString, workingSchema } from './schema.js';

export type Table = lancedb.Table;

/** Which embedder produced the vectors of the active memories table, and which table that is. */
const EmbedderRecord = z.object({ id: z.string(), dimensions: z.number().int().positive(), table: z.string() });
type EmbedderRecord = z.output<typeof EmbedderRecord>;

export interface EmbedderIdentity {
  id: string;
  dimensions: number;
}

export class EmbedderMismatchError extends Error {
  constructor(
    readonly stored: EmbedderIdentity,
    readonly current: EmbedderIdentity,
  ) {
    super(
      `The memory database was embedded with "${stored.id}" (${stored.dimensions} dimensions), but CAIRN_EMBEDDINGS now gives ` +
        `"${current.id}" (${current.dimensions} dimensions). Mixing them would silently break recall. ` +
        `Run "npx cairn memory reembed" to re-embed every memory with "${current.id}", or set CAIRN_EMBEDDINGS back.`,
    );
    this.name = 'EmbedderMismatchError';
  }
}

/** LanceDB reports optimistic-concurrency losses with these words; such writes are safe to redo. */
function isCommitConflict(error: unknown): boolean {
  return error instanceof Error && /commit conflict|retryable|conflicting|concurrent/i.test(error.message);
}

/**
 * Redoes `write` when it loses a commit race, without queueing it behind the table's other
 * writes: for appends, which commute with everything, under their own lock (see write-lock.ts).
 */
export async function retryCommitConflicts<T>(write: () => Promise<T>, attempts = 6, table?: Table): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!isCommitConflict(error) || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * 2 ** attempt));
      // Redone from the version that won: a write based on the old one may be incompatible with it
      // (an update after another process's overwrite is never rebased).
      await table?.checkoutLatest().catch(() => undefined);
    }
  }
}

/** Resolves once a promise chain that may grow while it is awaited (a job queue) has run out. */
export async function drainChain(tail: () => Promise<unknown>): Promise<void> {
  let current: Promise<unknown>;
  do {
    current = tail();
    await current;
  } while (current !== tail());
}

/** The last queued write of each table in this process. */
const writeTails = new WeakMap<Table, Promise<unknown>>();

/**
 * Runs a write to `table` after the writes queued before it, and redoes it if it still loses a
 * commit race (with another process, say). Concurrent writers in one process would otherwise
 * keep invalidating each other's commits: 50 concurrent runs exhausted any bounded retry and
 * lost votes.
 */
/** Resolves once the writes queued so far on `table` have finished (read-your-writes). */
export async function pendingWrites(table: Table): Promise<void> {
  await writeTails.get(table);
}

export function withCommitRetry<T>(table: Table, write: () => Promise<T>, attempts = 6): Promise<T> {
  const run = () => retryCommitConflicts(write, attempts, table);
  const result = (writeTails.get(table) ?? Promise.resolve()).then(run, run);
  writeTails.set(table, result.catch(() => undefined));
  return result;
}

/** Each open table's database, and whether other processes write its rows (rowWriteLock). */
const tableHomes = new WeakMap<Table, { uri: string; shared: boolean }>();

/**
 * Opens a table, creating it first if it is missing: under a lock across the processes sharing
 * the database, so that two starting at once do not both create it (LanceDB then committed one
 * creation as an overwrite of the other's, and writes based on the first failed).
 */
async function openOrCreate(db: lancedb.Connection, uri: string, names: readonly string[], name: string, schema: Schema, shared: boolean): Promise<Table> {
  const table = names.includes(name)
    ? await openOrCreateTable(db, names, name, schema)
    : await writeLock(uri, 'tables').run(async () => openOrCreateTable(db, await db.tableNames(), name, schema));
  tableHomes.set(table, { uri, shared });
  return table;
}

/** Another process creating a table has made its directory but not yet its first version. */
const HALF_CREATED = /could not be loaded|was not found|_versions/i;
/** How long a table another process is creating may take to appear (~3 s in all). */
const CREATE_WAITS_MS = [25, 50, 100, 200, 400, 800, 1_600];

async function openOrCreateTable(db: lancedb.Connection, names: readonly string[], name: string, schema: Schema): Promise<Table> {
  let create = !names.includes(name);
  for (let attempt = 0; ; attempt += 1) {
    try {
      return create ? await db.createEmptyTable(name, schema, { mode: 'create' }) : await db.openTable(name);
    } catch (error) {
      const text = String(error);
      // Another process created it first (or is creating it): open it, waiting for its first version.
      if (/already exists/i.test(text)) create = false;
      else if (create || !HALF_CREATED.test(text) || attempt >= CREATE_WAITS_MS.length) throw error;
      await new Promise((resolve) => setTimeout(resolve, CREATE_WAITS_MS[attempt] ?? 0));
    }
  }
}

/**
 * The lock for read-modify-writes of `table`'s rows (src/memory/group-commit.ts): across the
 * processes sharing its database when it is shared — LanceDB takes an upsert computed from a row
 * another process has changed since without a conflict: three processes voting on one run kept one
 * process's votes. Otherwise none: the group commit already runs in its table's write chain
 * (withCommitRetry), and the lock file would cost every group commit.
 */
export function rowWriteLock(table: Table): { lock: WriteLock; shared: boolean } {
  const home = tableHomes.get(table);
  if (home?.shared !== true) return { lock: { crossProcess: false, run: (work) => work() }, shared: false };
  return { lock: writeLock(home.uri, `${table.name}.rows`), shared: true };
}

export interface OpenOptions {
  /** The current embedder; when it differs from the stored one, opening fails (unless `anyEmbedder`). */
  embedder: EmbedderIdentity;
  /** For maintenance that needs no vectors (export, forget, stats, reembed): skip the check. */
  anyEmbedder?: boolean;
  log: Logger;
  /** Other processes write rows at the same time (see MemoryOptions.shared). */
  shared?: boolean;
  /** Bounds on LanceDB's caches (default DEFAULT_CACHE_MB). */
  cacheMb?: CacheSizes;
}

const MIB = 1_048_576n;

/**
 * The LanceDB database under CAIRN_DATA_DIR: a local path or any URI LanceDB accepts (s3://…).
 * Holds the active memories table (named in `meta`, so re-embedding can switch tables
 * atomically), working blocks, episodes, reflections, schedules, spend and meta.
 */
export class MemoryDb {
  /** Tables opened by name beside the fixed ones (`table()`), closed with the database. */
  private readonly extraTables = new Map<string, Promise<Table>>();
  private readonly openExtraTables: Table[] = [];

  private constructor(
    readonly connection: lancedb.Connection,
    readonly meta: Table,
    private readonly memoriesHandle: MemoriesHandle,
    readonly working: Table,
    readonly episodes: Table,
    readonly reflections: Table,
    readonly schedules: Table,
    readonly spend: Table,
    public embedder: EmbedderRecord,
    readonly embedderMatches: boolean,
    /** Where the database lives (a local path or an object-store URI), as given to open(). */
    readonly uri: string,
    /** The connection's caches (index and file metadata): every table's but the memories handle's. */
    private readonly session: lancedb.Session,
    /** Other processes write its rows at the same time (rowWriteLock). */
    readonly shared: boolean,
  ) {}

  /** The handle saves and recalls use on the active memories table (replaced as it grows; re-read it, do not keep it). */
  get memories(): Table {
    return this.memoriesHandle.table;
  }

  /** Bytes and items in LanceDB's caches, both connections' (benches, diagnostics). */
  cacheUsage(): { bytes: number; items: number; memoriesIndexBoundMb: number } {
    const memories = this.memoriesHandle.cacheUsage();
    return {
      bytes: memories.bytes + Number(this.session.sizeBytes()),
      items: memories.items + this.session.approxNumItems(),
      memoriesIndexBoundMb: this.memoriesHandle.cachePlan.mb,
    };
  }

  /**
   * Gives the memories handle a larger index cache once the table has outgrown its own
   * (memories-handle.ts); maintenance calls it with the row count after each index update.
   * Returns the bounds before and after, in MiB, if it did.
   */
  async fitMemoriesCache(rows: number): Promise<{ fromMb: number; toMb: number } | undefined> {
    if (!this.memoriesHandle.outgrown(rows)) return undefined;
    const fromMb = this.memoriesHandle.cachePlan.mb;
    await this.reopenMemories(this.embedder.table, rows);
    return { fromMb, toMb: this.memoriesHandle.cachePlan.mb };
  }

  /** Swaps the memories handle for a fresh one on `name`; writes queued on the old one still come first for read-your-writes. */
  private async reopenMemories(name: string, rows: number): Promise<void> {
    const old = this.memories;
    await this.memoriesHandle.reopen(name, rows);
    const tail = writeTails.get(old);
    if (tail !== undefined) writeTails.set(this.memories, tail);
  }

  static async open(uri: string, options: OpenOptions): Promise<MemoryDb> {
    configureLance();
    const shared = options.shared ?? false;
    const cache = options.cacheMb ?? DEFAULT_CACHE_MB;
    // The memories table's handle for saves and recalls has a connection and cache of its own
    // (memories-handle.ts); this one serves every other table, and maintenance.
    const session = new lancedb.Session(BigInt(Math.min(cache.index, OTHER_TABLES_INDEX_CACHE_MB)) * MIB, BigInt(cache.metadata) * MIB);
    // Reads see other processes' (and other handles') commits within a second; without this a
    // handle keeps reading its old version, whose files another process's cleanup may delete.
    const connection = await lancedb.connect(uri, { readConsistencyInterval: 1, session });
    const names = await connection.tableNames();
    const meta = await openOrCreate(connection, uri, names, 'meta', metaSchema, shared);
    let record = await readMeta(meta, 'embedder', EmbedderRecord);
    if (record === undefined) {
      record = { id: options.embedder.id, dimensions: options.embedder.dimensions, table: 'memories' };
      await writeMeta(meta, 'embedder', record);
    }
    const matches = record.id === options.embedder.id && record.dimensions === options.embedder.dimensions;
    if (!matches && options.anyEmbedder !== true) {
      connection.close();
      throw new EmbedderMismatchError({ id: record.id, dimensions: record.dimensions }, options.embedder);
    }
    const created = await openOrCreate(connection, uri, names, record.table, memoriesSchema(record.dimensions), shared);
    let memories: MemoriesHandle;
    try {
      const rows = await created.countRows();
      memories = await MemoriesHandle.open({ uri, indexCapMb: cache.index, metadataMb: cache.metadata }, record.table, rows);
    } finally {
      created.close();
    }
    const working = await openOrCreate(connection, uri, names, 'working', workingSchema, shared);
    const episodes = await openOrCreate(connection, uri, names, 'episodes', episodesSchema, shared);
    const reflections = await openOrCreate(connection, uri, names, 'reflections', reflectionsSchema, shared);
    const schedules = await openOrCreate(connection, uri, names, 'schedules', schedulesSchema, shared);
    const spend = await openOrCreate(connection, uri, names, 'spend', spendSchema, shared);
    options.log.debug({ uri, embedder: record }, 'memory database open');
    return new MemoryDb(connection, meta, memories, working, episodes, reflections, schedules, spend, record, matches, uri, session, shared);
  }

  /**
   * Makes `table` (already filled) the active memories table for `embedder`, then drops the
   * old one. The meta write is the switch: a crash before it leaves the old table in charge.
   */
  async switchMemoriesTable(table: Table, embedder: EmbedderIdentity): Promise<void> {
    const previous = this.embedder.table;
    const record = { ...embedder, table: table.name };
    await writeMeta(this.meta, 'embedder', record);
    await this.reopenMemories(table.name, await table.countRows());
    table.close();
    this.embedder = record;
    if (previous !== table.name) await this.connection.dropTable(previous);
  }

  /** A fresh, empty memories table for re-embedding, named after the current one. */
  async createMemoriesTable(dimensions: number): Promise<Table> {
    const names = await this.connection.tableNames();
    let n = 2;
    while (names.includes(`memories_${n}`)) n += 1;
    return this.connection.createEmptyTable(`memories_${n}`, memoriesSchema(dimensions), { mode: 'create' });
  }

  /**
   * Opens the table `name` (settings …), creating it empty with `schema` the first time; one
   * handle per name, closed with the database. For tables only some surfaces need.
   */
  table(name: string, schema: Schema): Promise<Table> {
    let opened = this.extraTables.get(name);
    if (opened === undefined) {
      opened = this.connection
        .tableNames()
        .then((names) => openOrCreate(this.connection, this.uri, names, name, schema, this.shared))
        .then(
          (table) => {
            this.openExtraTables.push(table);
            return table;
          },
          (error: unknown) => {
            // A failed open is not kept: the next call tries again.
            this.extraTables.delete(name);
            throw error;
          },
        );
      this.extraTables.set(name, opened);
    }
    return opened;
  }

  close(): void {
    for (const table of [...this.openExtraTables, this.meta, this.working, this.episodes, this.reflections, this.schedules, this.spend]) table.close();
    this.memoriesHandle.close();
    this.connection.close();
  }
}

async function readMeta<T>(meta: Table, key: string, schema: z.ZodType<T>): Promise<T | undefined> {
  const rows = await meta.query().where(`key = ${sqlString(key)}`).limit(1).toArray();
  const raw = z.object({ value: z.string() }).safeParse(rows[0]);
  if (!raw.success) return undefined;
  return schema.parse(JSON.parse(raw.data.value));
}

async function writeMeta(meta: Table, key: string, value: unknown): Promise<void> {
  await withCommitRetry(meta, () =>
    meta.mergeInsert('key').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute([{ key, value: JSON.stringify(value) }]),
  );
}
