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

import { carryWrites, openOrCreate, withCommitRetry } from './table-writes.js';
export { drainChain, pendingWrites, retryCommitConflicts, rowWriteLock, withCommitRetry } from './table-writes.js';

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
    carryWrites(old, this.memories);
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
