import { z } from 'zod';
import { rowWriteLock, withCommitRetry, type Table } from './db.js';
import type { WriteLock } from './write-lock.js';
import { sqlList } from './schema.js';
import { tableUpkeep, type TableUpkeep } from './table-upkeep.js';

/** A change to one row: given the row as stored (or undefined if absent), the row to store, or null to leave it absent. */
export type RowChange = (current: Record<string, unknown> | undefined) => Record<string, unknown> | null;

interface Pending {
  key: string;
  change: RowChange;
  /** A whole row put (the change ignores the stored row): no read is needed for it. */
  blind: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

// Arrow row proxies answer `in` only for their fields, so look for the method itself.
const RowObjects = z.array(
  z.custom<{ toJSON(): unknown }>((v) => typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON === 'function'),
);
const PlainRow = z.record(z.string(), z.unknown());

/**
 * Group commit for small, frequent row writes (one table, one key column). Changes queued while
 * a commit is in flight are applied together to freshly read rows and written in a single
 * upsert: fifty concurrent runs cost a few commits, not one commit each. Each caller's promise
 * settles when the commit holding its change does.
 */
export class GroupCommitter {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(
    private readonly table: Table,
    private readonly keyColumn: string,
    /** Told of every commit, so the table is compacted as writes pile up. */
    private readonly upkeep: TableUpkeep = tableUpkeep,
    private readonly rows: { lock: WriteLock; shared: boolean } = rowWriteLock(table),
  ) {}

  private readonly inflight = new Set<Promise<void>>();

  /** Resolves once every change queued so far has been committed (or has failed). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }

  /** Changes the row under `key` from what is stored (read in the commit that writes it). */
  apply(key: string, change: RowChange): Promise<void> {
    return this.enqueue(key, change, false);
  }

  /**
   * Stores `row` under `key` whatever is stored there: a commit holding only puts reads nothing
   * back, which saves a query per commit (usage rows, conversation turns, run records).
   */
  put(key: string, row: Record<string, unknown>): Promise<void> {
    return this.enqueue(key, () => row, true);
  }

  private enqueue(key: string, change: RowChange, blind: boolean): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      this.queue.push({ key, change, blind, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // Let changes made in the same tick join this commit.
        setImmediate(() => {
          void this.flush();
        });
      }
    });
    this.inflight.add(done);
    void done.catch(() => undefined).finally(() => this.inflight.delete(done));
    return done;
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    try {
      // Queued behind (and ahead of) the table's other writes, so reads see every earlier write;
      // in a shared database under the rows' lock and from the latest version, so they see other
      // processes' too.
      await withCommitRetry(this.table, () => this.rows.lock.run(async () => {
        if (this.rows.shared) await this.table.checkoutLatest();
        const keys = [...new Set(batch.filter((p) => !p.blind).map((p) => p.key))];
        const stored = keys.length === 0 ? [] : RowObjects.parse(await this.table.query().where(`${this.keyColumn} IN ${sqlList(keys)}`).toArray());
        const rows = new Map<string, Record<string, unknown>>();
        for (const row of stored) {
          const plain = PlainRow.parse(row.toJSON());
          rows.set(String(plain[this.keyColumn]), plain);
        }
        const changed = new Map<string, Record<string, unknown>>();
        for (const { key, change } of batch) {
          const next = change(rows.get(key));
          if (next === null) continue;
          rows.set(key, next);
          changed.set(key, next);
        }
        const upserts = [...changed.values()];
        if (upserts.length > 0) {
          await this.table.mergeInsert(this.keyColumn).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(upserts);
          this.upkeep.noteCommit(this.table);
        }
      }));
      for (const p of batch) p.resolve();
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      if (this.queue.length > 0) {
        setImmediate(() => {
          void this.flush();
        });
      } else {
        this.scheduled = false;
      }
    }
  }
}
