import * as lancedb from '@lancedb/lancedb';
import { memoriesIndexCachePlan, type IndexCachePlan } from './cache-sizes.js';

type Table = lancedb.Table;

const MIB = 1_048_576;
/** Long enough for a recall, a save or an export that took the old handle just before a swap to finish. */
const RETIRED_HANDLE_GRACE_MS = 10 * 60_000;

export interface MemoriesHandleOptions {
  uri: string;
  /** Upper bound on the index cache, in MiB (CAIRN_MEMORY_INDEX_CACHE_MB, or sized from the cap). */
  indexCapMb: number;
  metadataMb: number;
}

/**
 * The handle saves and recalls use on the memories table, on a connection of its own so that
 * its index cache can be sized to the table and replaced as the table grows.
 *
 * Why: every index update writes new index files, recall then caches those, and LanceDB never
 * drops the entries of the files they replaced; they leave only when the cache is full. With the
 * cache sized for the row cap (782 MiB for 200,000), a bot holding a few thousand memories kept
 * every old index it had read: bench:soak's caches grew 16 → 138 MiB over 2,000 turns, while a
 * fresh cache needs ~2-3 KiB a memory. A cache with room for twice the table's rows keeps the
 * live indexes and evicts the old ones (LanceDB 0.33 could hang once its index cache evicted:
 * 0.37 is required, test/memory/cache-eviction.test.ts); when the table outgrows it, `reopen`
 * opens a larger cache, warms it, and swaps it in.
 */
export class MemoriesHandle {
  /** Handles swapped out, each closed when its grace period ends (or with this one). */
  private readonly retired = new Map<Table, { connection: lancedb.Connection; timer: NodeJS.Timeout }>();

  private constructor(
    private readonly options: MemoriesHandleOptions,
    private connection: lancedb.Connection,
    private session: lancedb.Session,
    private current: Table,
    private plan: IndexCachePlan,
  ) {}

  /** Opens the memories table `name`, which holds `rows` rows now. */
  static async open(options: MemoriesHandleOptions, name: string, rows: number): Promise<MemoriesHandle> {
    const { connection, session, table, plan } = await MemoriesHandle.connect(options, name, rows, false);
    return new MemoriesHandle(options, connection, session, table, plan);
  }

  get table(): Table {
    return this.current;
  }

  /** The index cache's current bound, in MiB, and the table size past which it is outgrown. */
  get cachePlan(): IndexCachePlan {
    return this.plan;
  }

  /** Bytes and items in this handle's caches (index and metadata). */
  cacheUsage(): { bytes: number; items: number } {
    return { bytes: Number(this.session.sizeBytes()), items: this.session.approxNumItems() };
  }

  /** Whether a table of `rows` rows has outgrown the cache this handle was sized for. */
  outgrown(rows: number): boolean {
    return rows > this.plan.rows && this.plan.mb < this.options.indexCapMb;
  }

  /**
   * Opens `name` (the same table after growth, or the new one after re-embedding) on a fresh
   * connection whose cache is sized for `rows` rows, loads its indexes into that cache, then
   * makes it the handle. The old handle is closed a grace period later, so a recall or save
   * that took it just before stays valid.
   */
  async reopen(name: string, rows: number): Promise<void> {
    const next = await MemoriesHandle.connect(this.options, name, rows, true);
    const old = { table: this.current, connection: this.connection };
    this.connection = next.connection;
    this.session = next.session;
    this.current = next.table;
    this.plan = next.plan;
    const timer = setTimeout(() => {
      this.closeRetired(old.table);
    }, RETIRED_HANDLE_GRACE_MS);
    timer.unref();
    this.retired.set(old.table, { connection: old.connection, timer });
  }

  close(): void {
    for (const table of [...this.retired.keys()]) this.closeRetired(table);
    this.current.close();
    this.connection.close();
  }

  private closeRetired(table: Table): void {
    const entry = this.retired.get(table);
    if (entry === undefined) return;
    this.retired.delete(table);
    clearTimeout(entry.timer);
    table.close();
    entry.connection.close();
  }

  private static async connect(
    options: MemoriesHandleOptions,
    name: string,
    rows: number,
    prewarm: boolean,
  ): Promise<{ connection: lancedb.Connection; session: lancedb.Session; table: Table; plan: IndexCachePlan }> {
    // The cache's bound is fixed when the connection opens.
    const plan = memoriesIndexCachePlan(rows, options.indexCapMb);
    const session = new lancedb.Session(BigInt(plan.mb * MIB), BigInt(options.metadataMb * MIB));
    // Reads see other processes' (and other handles') commits within a second.
    const connection = await lancedb.connect(options.uri, { readConsistencyInterval: 1, session });
    try {
      const table = await connection.openTable(name);
      if (prewarm) {
        // A swap mid-life: warm the new cache first, so recall does not pay for loading the indexes.
        for (const index of await table.listIndices()) await table.prewarmIndex(index.name);
      }
      return { connection, session, table, plan };
    } catch (error) {
      connection.close();
      throw error;
    }
  }
}
