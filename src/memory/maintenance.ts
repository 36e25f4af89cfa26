import type { Logger } from '../log.js';
import { hasTextIndex, hasUnindexedRows, SCALAR_INDEXES, segmentRebuildAllowed, textIndex, vectorIndex, vectorIndexStale, type VectorIndexBuild } from './index-plan.js';
import { writeLock, type WriteLock } from './write-lock.js';
import { drainChain, withCommitRetry, type MemoryDb, type Table } from './db.js';
import { removeEmptyIndexDirs } from './empty-index-dirs.js';
import { AccessCounts } from './access-counts.js';
import { sweepMemories } from './sweep.js';
import { watchSlowJob } from './slow-job.js';
import { refreshDelayMs } from './refresh-cadence.js';
import { DEFAULT_MAINTENANCE, type MaintenanceOptions } from './maintenance-options.js';

export { DEFAULT_MAINTENANCE, type MaintenanceOptions } from './maintenance-options.js';

const SMALL_TABLE_VERSIONS_KEPT_MS = 3_600_000;

/**
 * Keeps the memories table fast and bounded without touching the reply path: indexes,
 * compaction, access counts, TTL expiry and eviction all run here, one job at a time.
 */
export class Maintenance {
  private queue: Promise<void> = Promise.resolve();
  private insertedSinceOptimize = 0;
  private writesSinceOptimize = 0;
  private optimizeQueued = false;
  /** How long the last refresh took: quiet-time refreshes are spaced by it (refresh-cadence.ts). */
  private lastRefreshMs = 0;
  private readonly accessed = new AccessCounts();
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  private vectorBuild: VectorIndexBuild = { rows: 0, endedAt: 0, tookMs: 0 };
  private refreshTimer: NodeJS.Timeout | undefined;
  private handle: Table | undefined;

  constructor(
    private readonly db: MemoryDb,
    private readonly log: Logger,
    private readonly options: MaintenanceOptions = DEFAULT_MAINTENANCE,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Creates the full-text index if missing, folds in rows written since the last session, and
   * starts the periodic jobs. Runs at start-up, before any recall is served.
   */
  async start(): Promise<void> {
    const table = this.db.memories;
    // Locked only when missing: another process may hold the lock for minutes (a large index build).
    if (!(await hasTextIndex(table))) await this.indexLock(table).run(() => this.ensureTextIndex(table));
    if (await hasUnindexedRows(this.db.memories)) await this.optimize();
    const every = (ms: number, job: () => void) => {
      const timer = setInterval(job, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.options.accessFlushMs, () => {
      this.enqueue('flush access counts', () => this.writeAccessCounts({ reindex: true }));
    });
    every(this.options.sweepEveryMs, () => {
      this.enqueue('sweep', () => this.sweep());
      this.enqueue('compact small tables', () => this.compactSmallTables());
    });
    this.enqueue('sweep', () => this.sweep());
  }

  /**
   * Every write to a LanceDB table adds a version and a small data file; episodes, schedules and
   * the like get many small writes (a schedule firing every minute writes 1,440 a day). Compacting
   * them and dropping old versions keeps their reads fast and their files few.
   */
  async compactSmallTables(): Promise<void> {
    const { episodes, working, reflections, schedules, spend, meta } = this.db;
    for (const table of [episodes, working, reflections, schedules, spend, meta]) {
      // An hour's versions are kept: another process (the terminal) may still be reading one.
      await withCommitRetry(table, () => table.optimize({ cleanupOlderThan: new Date(this.now() - SMALL_TABLE_VERSIONS_KEPT_MS) }));
    }
  }

  /**
   * New rows are searchable at once, but LanceDB's search of rows not yet in the full-text index
   * can miss keyword matches (seen with a few short rows sharing a word: the query returned
   * nothing until the rows were indexed). Folding rows into the index soon after a write, and
   * at start-up, avoids that.
   */
  noteInserted(rows: number): void {
    if (rows === 0) return;
    this.insertedSinceOptimize += rows;
    this.writesSinceOptimize += 1;
    if (this.optimizeQueued) return;
    clearTimeout(this.refreshTimer);
    // A lookup's cost follows the number of small unindexed files (one per write, ~0.13 ms each
    // at 100k rows), not the table's size: fold them in after a few dozen writes.
    this.refreshSoon(this.nextRefreshDelay());
  }

  /**
   * One optimize at a time is queued: at 100 writes/s writes keep arriving while it runs (1-4 s
   * at 100k rows), and they are folded in by the next one, not by one optimize each.
   */
  private refreshSoon(delayMs: number): void {
    this.refreshTimer = setTimeout(() => {
      this.optimizeQueued = true;
      this.insertedSinceOptimize = 0;
      this.writesSinceOptimize = 0;
      this.enqueue('optimize', async () => {
        const started = performance.now();
        try {
          await this.optimize();
        } finally {
          this.lastRefreshMs = performance.now() - started;
          this.optimizeQueued = false;
          if (this.writesSinceOptimize > 0) this.refreshSoon(this.nextRefreshDelay());
        }
      });
    }, delayMs);
    this.refreshTimer.unref();
  }

  private nextRefreshDelay(): number {
    return refreshDelayMs(this.dueNow(), this.options.indexRefreshDelayMs, this.lastRefreshMs);
  }

  private dueNow(): boolean {
    return this.insertedSinceOptimize >= this.options.optimizeEveryRows || this.writesSinceOptimize >= this.options.optimizeEveryWrites;
  }

  /** Folds new rows into the indexes now (for rare, important writes such as lessons). */
  async refreshIndexes(): Promise<void> {
    this.enqueue('optimize', () => this.optimize());
    await this.idle();
  }

  noteAccessed(ids: readonly string[]): void {
    this.accessed.note(ids);
  }

  /** Writes the buffered access counts; `reindex` puts the rows they rewrote back into the indexes. */
  private async writeAccessCounts({ reindex }: { reindex: boolean }): Promise<void> {
    if ((await this.accessed.flush(this.db.memories, this.now())) && reindex) await this.optimize();
  }

  /** Resolves when every queued job has finished. */
  async idle(): Promise<void> {
    await drainChain(() => this.queue);
  }

  /** Everything now: flush, sweep, indexes (vector index in one piece), compaction (CLI, benches). */
  async runAll(): Promise<void> {
    // The optimize after it puts the rows the flush rewrote back into the indexes.
    this.enqueue('flush access counts', () => this.writeAccessCounts({ reindex: false }));
    this.enqueue('sweep', () => this.sweep());
    this.enqueue('optimize', () => this.optimize(true));
    this.enqueue('compact small tables', () => this.compactSmallTables());
    await this.idle();
  }

  /** Rebuilds the vector and full-text indexes from every row now (CLI, tests); recall is unchanged by it. */
  async rebuildIndexes(): Promise<void> {
    this.enqueue('rebuild indexes', () => this.optimize(true, true));
    await this.idle();
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    clearTimeout(this.refreshTimer);
    // Rows rewritten here are folded back into the indexes at the next start.
    this.enqueue('flush access counts', () => this.writeAccessCounts({ reindex: false }));
    await this.idle();
    this.closed = true;
    this.handle?.close();
    this.handle = undefined;
  }

  private enqueue(name: string, job: () => Promise<void>): void {
    if (this.closed) return;
    this.queue = this.queue.then(async () => {
      const started = performance.now();
      const stopWatching = watchSlowJob(name, this.options.slowJobMs, this.log);
      try {
        await job();
        this.log.debug({ job: name, ms: Math.round(performance.now() - started) }, 'memory maintenance');
      } catch (error) {
        this.log.warn({ err: error, job: name }, 'memory maintenance failed; will try again later');
      } finally {
        stopWatching();
      }
    });
  }

  private async ensureTextIndex(table: Table): Promise<void> {
    // Under the lock, as of now: another process may have created it while this one waited.
    await table.checkoutLatest();
    if (!(await hasTextIndex(table))) {
      await table.createIndex('search_text', { config: textIndex() });
    }
  }

  /**
   * Compacts files and folds new rows into the indexes, creating what is missing: scalar indexes
   * for the columns every recall and save filters on, and an HNSW vector index once flat search
   * stops being cheaper (see index-plan.ts). `mergeVectorSegments` rebuilds the vector index
   * whenever folding has left it in pieces; `rebuild` rebuilds the vector and text indexes.
   */
  private async optimize(mergeVectorSegments = false, rebuild = false): Promise<void> {
    const table = await this.ownHandle(this.db.memories.name);
    const rows = await this.indexLock(table).run(() => this.optimizeLocked(table, mergeVectorSegments, rebuild));
    // Saves and recalls see the new indexes at once, not after the consistency interval.
    await this.db.memories.checkoutLatest();
    const enlarged = await this.db.fitMemoriesCache(rows);
    if (enlarged !== undefined) this.log.info({ rows, ...enlarged }, 'memory index cache enlarged for the grown table');
  }

  /**
   * Maintenance works through its own handle on the memories table: a handle is locked while it
   * compacts or builds an index (seconds), and saves through the shared one waited that long.
   */
  private async ownHandle(name: string): Promise<Table> {
    if (this.handle?.name !== name) {
      this.handle?.close();
      this.handle = await this.db.connection.openTable(name);
    }
    return this.handle;
  }

  /**
   * Index building and compaction run in one process at a time (saves do not wait for it): two
   * processes creating the same index at once left each other's index files missing, and reads
   * then failed with "page_lookup.lance not found"; two compactions at once conflict and redo.
   */
  private indexLock(table: Table): WriteLock {
    return writeLock(this.db.uri, `${table.name}.maintenance`);
  }

  /** Returns the table's row count. */
  private async optimizeLocked(table: Table, mergeVectorSegments: boolean, rebuild: boolean): Promise<number> {
    // Fold in other processes' writes too: this handle sees only its own until it checks out.
    await table.checkoutLatest();
    if (rebuild) await withCommitRetry(table, () => table.createIndex('search_text', { config: textIndex(), replace: true }));
    else await this.ensureTextIndex(table);
    const rows = await table.countRows();
    if (rows > 0) {
      const indexed = new Set((await table.listIndices()).flatMap((i) => i.columns));
      for (const [column, config] of SCALAR_INDEXES) {
        if (!indexed.has(column)) await withCommitRetry(table, () => table.createIndex(column, { config: config() }));
      }
      if (this.vectorBuild.rows === 0) this.vectorBuild = { ...this.vectorBuild, rows };
      // Asked for in one piece (runAll, CLI): merged whatever the duty cycle says.
      const mayMergeSegments = mergeVectorSegments || segmentRebuildAllowed(this.vectorBuild, this.now());
      const options = { maxSegments: mergeVectorSegments ? 1 : 4, growth: 1.5, mayMergeSegments };
      if (rows >= this.options.vectorIndexMinRows && (rebuild || !indexed.has('vector') || (await vectorIndexStale(table, rows, this.vectorBuild.rows, options)))) {
        const started = this.now();
        await withCommitRetry(table, () => table.createIndex('vector', { config: vectorIndex(rows), replace: true }));
        const ended = this.now();
        this.vectorBuild = { rows, endedAt: ended, tookMs: ended - started };
      }
    }
    await withCommitRetry(table, () => table.optimize({ cleanupOlderThan: new Date(this.now() - 60_000) }));
    await removeEmptyIndexDirs(this.db.uri, table.name);
    return rows;
  }

  /**
   * Deletes expired rows, then enforces the quotas (sweep.ts). Public for the CLI and tests.
   */
  async sweep(): Promise<void> {
    const { maxMemories: total, maxMemoriesPerServer: perServer, maxMemoriesPerUser: perUser } = this.options;
    await sweepMemories(this.db, { total, perServer, perUser }, this.now(), this.log);
  }
}
