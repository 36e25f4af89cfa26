import { withCommitRetry, type Table } from './db.js';
import { sqlList } from './schema.js';

/**
 * Recall counts each memory it returns; the counts are buffered here and written in a few
 * grouped updates (one per distinct count) instead of one write per recall. They only feed
 * eviction's idea of what is used, so a crash losing the last few minutes of them is acceptable.
 */
export class AccessCounts {
  private readonly pending = new Map<string, number>();

  note(ids: readonly string[]): void {
    for (const id of ids) this.pending.set(id, (this.pending.get(id) ?? 0) + 1);
  }

  /** Writes the buffered counts; false when there were none. */
  async flush(table: Table, now: number): Promise<boolean> {
    if (this.pending.size === 0) return false;
    const byCount = new Map<number, string[]>();
    for (const [id, count] of this.pending) byCount.set(count, [...(byCount.get(count) ?? []), id]);
    this.pending.clear();
    for (const [count, ids] of byCount) {
      await withCommitRetry(table, () =>
        table.update({
          where: `id IN ${sqlList(ids)}`,
          valuesSql: { access_count: `access_count + ${count}`, last_access_at: String(now) },
        }),
      );
    }
    return true;
  }
}
