import { withCommitRetry, type Table } from './db.js';
import { tableUpkeep } from './table-upkeep.js';

interface Pending {
  rows: Record<string, unknown>[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Appends to a table that share commits: rows added in the same tick, or while a commit is in
 * flight, go in the next commit together (every commit is a version and a fragment, and costs a
 * few milliseconds of CPU however small). Each `add` resolves once its rows are on disk.
 */
export class BatchedAppend {
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;

  constructor(private readonly table: () => Promise<Table>) {}

  add(rows: Record<string, unknown>[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      // Started after this tick, so rows added together (a run's two spend rows) share a commit.
      this.flushing ??= Promise.resolve().then(() => this.flush());
    });
  }

  /** Resolves once every row added so far is written (or has failed). */
  async idle(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
  }

  private async flush(): Promise<void> {
    try {
      const table = await this.table();
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          await withCommitRetry(table, () => table.add(batch.flatMap((p) => p.rows)));
          tableUpkeep.noteCommit(table);
          for (const p of batch) p.resolve();
        } catch (error) {
          for (const p of batch) p.reject(error);
        }
      }
    } catch (error) {
      for (const p of this.queue.splice(0)) p.reject(error);
    } finally {
      // Nothing awaited since the queue was last seen empty: an add from here starts a new flush.
      this.flushing = undefined;
    }
  }
}
