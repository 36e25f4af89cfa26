import { z } from 'zod';
import { retryCommitConflicts, type Table } from './db.js';
import { sqlList } from './schema.js';
import { writeLock, type WriteLock } from './write-lock.js';

/** A memories row ready to store; `content_hash` is the dedupe key, `id` its id if it is new. */
export type MemoryInsertRow = Record<string, unknown> & { id: string; content_hash: string };

const IdAndHash = z.array(z.object({ id: z.string(), content_hash: z.string() }));

/** The stored id of each hash, and whether this call stored it. */
export type InsertOutcome = Map<string, { id: string; inserted: boolean }>;

/**
 * The lookup a save makes: only the key columns, answered by the btree index on `content_hash`
 * for indexed rows (plus a scan of the few rows written since the last optimize).
 */
export function lookupByHash(table: Table, hashes: readonly string[]) {
  return table.query().where(`content_hash IN ${sqlList(hashes)}`).select(['id', 'content_hash']);
}

/** Stored ids of those of `hashes` already in `table`. */
export async function existingIds(table: Table, hashes: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (hashes.length === 0) return found;
  for (const row of IdAndHash.parse(await lookupByHash(table, hashes).toArray())) found.set(row.content_hash, row.id);
  return found;
}

interface Pending {
  rows: readonly MemoryInsertRow[];
  resolve: (outcome: InsertOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Insert-if-absent on `content_hash` in constant time: under a write lock (shared with other
 * processes on the same local directory), see the latest version, look the hashes up through the
 * index, and append only the missing rows. A plain append never scans the table, unlike
 * `mergeInsert`, whose join read every row not yet indexed (28 ms at 100k rows, growing).
 * Saves that arrive while a commit is in flight share the next one (group commit).
 */
export class MemoryInserter {
  private queue: Pending[] = [];
  private flushing = false;

  /** `table` is read on every commit: re-embedding switches the active memories table. */
  constructor(
    private readonly uri: string,
    private readonly table: () => Table,
  ) {}

  private readonly locks = new Map<string, WriteLock>();

  private lockFor(name: string): WriteLock {
    let lock = this.locks.get(name);
    if (lock === undefined) {
      lock = writeLock(this.uri, name);
      this.locks.set(name, lock);
    }
    return lock;
  }

  /** Stores the rows whose hash is absent; resolves with every hash's stored id once committed. */
  insert(rows: readonly MemoryInsertRow[]): Promise<InsertOutcome> {
    return new Promise<InsertOutcome>((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        const stored = await this.commit(batch.flatMap((p) => p.rows));
        for (const p of batch) p.resolve(outcomeFor(p.rows, stored));
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
    this.flushing = false;
  }

  /** The stored id of every hash in `rows`, and the hashes this commit inserted. */
  private async commit(rows: readonly MemoryInsertRow[]): Promise<{ ids: Map<string, string>; inserted: Set<string> }> {
    const table = this.table();
    const lock = this.lockFor(table.name);
    return lock.run(async () => {
      // Other processes' commits are invisible to this handle until it checks out the latest version.
      await table.checkoutLatest();
      const ids = await existingIds(table, [...new Set(rows.map((r) => r.content_hash))]);
      const fresh: MemoryInsertRow[] = [];
      for (const row of rows) {
        if (ids.has(row.content_hash)) continue;
        ids.set(row.content_hash, row.id);
        fresh.push(row);
      }
      if (fresh.length > 0) {
        // Without a file lock (object stores) the merge is the only guard, and it is not a full one across processes (lance#4585).
        await retryCommitConflicts(() =>
          lock.crossProcess ? table.add(fresh) : table.mergeInsert('content_hash').whenNotMatchedInsertAll().execute(fresh),
        );
      }
      return { ids, inserted: new Set(fresh.map((r) => r.content_hash)) };
    });
  }
}

/** One caller's share of a group commit: a row counts as inserted for the caller whose row id was stored. */
function outcomeFor(rows: readonly MemoryInsertRow[], stored: { ids: Map<string, string>; inserted: Set<string> }): InsertOutcome {
  const outcome: InsertOutcome = new Map();
  for (const row of rows) {
    const id = stored.ids.get(row.content_hash);
    if (id === undefined) throw new Error('memory id lost during save');
    if (!outcome.has(row.content_hash)) outcome.set(row.content_hash, { id, inserted: stored.inserted.has(row.content_hash) && id === row.id });
  }
  return outcome;
}
