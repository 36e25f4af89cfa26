import type { Logger } from '../log.js';
import { drainChain, withCommitRetry, type Table } from './db.js';

export interface TableUpkeepOptions {
  /** Compact a table (and drop its old versions) after this many commits to it. */
  compactEveryCommits: number;
  /**
   * Versions younger than this survive a compaction: another process (the terminal CLI) may be
   * reading one. A read of these small tables takes milliseconds, so a minute is ample; each kept
   * version is one small manifest (and the files only it still uses).
   */
  keepVersionsMs: number;
}

export const DEFAULT_TABLE_UPKEEP: TableUpkeepOptions = {
  // ~0.13 ms per fragment per lookup measured here: 32 fragments cost ~4 ms at worst, and a
  // compaction of a small table costs a few tens of ms, so at 100 commits/s this is ~3 a second.
  compactEveryCommits: 32,
  keepVersionsMs: 60_000,
};

/**
 * Keeps small, often-written tables (episodes, conversations, run records, usage, spend …) flat:
 * every commit adds a fragment and a version, and a lookup's cost follows the fragments since the
 * last compaction. Counting commits per table and compacting after every `compactEveryCommits`
 * bounds both, however many turns came before. Compactions run one at a time in the background,
 * queued behind the table's writes (so they never lose a commit race to this process).
 */
export class TableUpkeep {
  private readonly commits = new WeakMap<Table, number>();
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private log: Logger | undefined;

  constructor(
    private options: TableUpkeepOptions = DEFAULT_TABLE_UPKEEP,
    private readonly now: () => number = Date.now,
  ) {}

  /** Replaces the options (the app sets them once at start) and where failures are logged. */
  configure(options: Partial<TableUpkeepOptions>, log?: Logger): void {
    this.options = { ...this.options, ...options };
    if (log !== undefined) this.log = log;
    this.closed = false;
  }

  /** Call after each commit to `table`; every `compactEveryCommits`-th queues a compaction. */
  noteCommit(table: Table): void {
    const count = (this.commits.get(table) ?? 0) + 1;
    if (count < this.options.compactEveryCommits) {
      this.commits.set(table, count);
      return;
    }
    this.commits.set(table, 0);
    this.enqueue(table);
  }

  /** Compacts `table` now and drops its versions older than `keepVersionsMs`. */
  async compact(table: Table): Promise<void> {
    const cleanupOlderThan = new Date(this.now() - this.options.keepVersionsMs);
    await withCommitRetry(table, () => table.optimize({ cleanupOlderThan }));
  }

  /** Resolves once every compaction queued so far has finished. */
  async idle(): Promise<void> {
    await drainChain(() => this.queue);
  }

  /** Stops queuing compactions and waits for the running one (before the database closes). */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
  }

  private enqueue(table: Table): void {
    if (this.closed) return;
    this.queue = this.queue.then(async () => {
      if (this.closed) return;
      try {
        await this.compact(table);
      } catch (error) {
        // Not fatal: the next compaction of the table catches up.
        this.log?.warn({ err: error, table: table.name }, 'compacting a table failed; will try again after more writes');
      }
    });
  }
}

/** The process's upkeep: tables are shared by every store in the process, and so is their upkeep. */
export const tableUpkeep = new TableUpkeep();
