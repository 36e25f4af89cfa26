import { z } from 'zod';
import { withCommitRetry, type Table } from '../memory/db.js';
import { SpendRow } from '../memory/schema.js';
import { BatchedAppend } from '../memory/batched-append.js';

export type SpendKind = SpendRow['kind'];

export interface SpendEntry {
  /** The run id, or the reflection's id: what was paid for. */
  id: string;
  /**
   * The account that pays: a person (who started the run, a scheduled run's creator, the voter
   * behind a reflection), or a server as a whole, keyed `guild:<server id>` (`serverAccount`).
   */
  userId: string;
  kind: SpendKind;
  usd: number;
  at: number;
}

const SpendRows = z.array(SpendRow.pick({ user_id: true, usd: true }));

/** Rows older than this are no longer needed to count a day's spend. */
const KEEP_MS = 3 * 86_400_000;

/**
 * The spend table: one row per account charged for a settled run or reflection, read back to count
 * each account's day. A run in a server is charged twice — to its payer (`user_id` = their Discord
 * id) and to the server (`user_id` = `guild:<server id>`): both budgets count it. User ids are
 * digits (or `local` from the terminal), so the prefix cannot collide with a person.
 */
export class SpendLedger {
  // Two rows a run (payer and server), in one commit; compacted as they pile up, so counting a day stays cheap.
  private readonly appends: BatchedAppend;

  constructor(private readonly table: Table) {
    this.appends = new BatchedAppend(() => Promise.resolve(table));
  }

  async record(entry: SpendEntry): Promise<void> {
    await this.appends.add([{ id: entry.id, user_id: entry.userId, kind: entry.kind, usd: entry.usd, at: entry.at }]);
  }

  /**
   * What each account has spent since `since` (epoch ms). Only two columns are read; `latest`: from
   * the latest version (other processes' rows up to this moment).
   */
  async spentSince(since: number, { latest = false } = {}): Promise<Map<string, number>> {
    await this.appends.idle();
    if (latest) await this.table.checkoutLatest();
    const rows = SpendRows.parse(await this.table.query().where(`at >= ${since}`).select(['user_id', 'usd']).toArray());
    const totals = new Map<string, number>();
    for (const row of rows) totals.set(row.user_id, (totals.get(row.user_id) ?? 0) + row.usd);
    return totals;
  }

  /** Drops rows no day's budget needs any more. */
  async prune(now: number): Promise<void> {
    await withCommitRetry(this.table, () => this.table.delete(`at < ${now - KEEP_MS}`));
  }
}
