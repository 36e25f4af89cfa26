/**
 * Claims on the `reflections` table: several processes share it (a gateway and workers, or
 * workers taking reflection jobs), and each reflection is made once. Claims are taken under a lock
 * across processes, from the latest version; a claim is a lease (status `working` until
 * `next_attempt_at`), so one whose process died is due again after it.
 */
import { z } from 'zod';
import { withCommitRetry, type Table } from '../memory/db.js';
import { ReflectionRow, sqlList, sqlString } from '../memory/schema.js';
import { tableUpkeep } from '../memory/table-upkeep.js';
import { writeLock } from '../memory/write-lock.js';

const ReflectionRows = z.array(ReflectionRow);
/** Reflections one process claims at a time. */
const CLAIM_BATCH = 20;
/** How long a claim holds: far longer than a reflection (one model call) takes. */
export const CLAIM_LEASE_MS = 10 * 60_000;

const DUE = (now: number) => `status IN ('pending', 'working') AND next_attempt_at <= ${now}`;

export class ReflectionClaims {
  constructor(
    private readonly table: Table,
    private readonly uri: string,
  ) {}

  /** The due reflections (up to a batch), claimed for this process. */
  due(now: number): Promise<ReflectionRow[]> {
    return this.claim(DUE(now), CLAIM_BATCH, now);
  }

  /** One reflection, claimed for this process if it is due and nobody holds it; undefined otherwise. */
  async one(id: string, now: number): Promise<ReflectionRow | undefined> {
    return (await this.claim(`id = ${sqlString(id)} AND ${DUE(now)}`, 1, now))[0];
  }

  /** Gives claimed reflections back at once (a shutdown), not after their lease. */
  async giveBack(ids: readonly string[], now: number): Promise<void> {
    if (ids.length === 0) return;
    await withCommitRetry(this.table, () => this.table.update({ where: `id IN ${sqlList(ids)} AND status = 'working'`, valuesSql: { status: "'pending'", next_attempt_at: String(now) } }));
  }

  private async claim(where: string, limit: number, now: number): Promise<ReflectionRow[]> {
    const table = this.table;
    return writeLock(this.uri, 'reflections.claim').run(async () => {
      await table.checkoutLatest();
      const due = ReflectionRows.parse(await table.query().where(where).limit(limit).toArray());
      if (due.length === 0) return [];
      const ids = sqlList(due.map((row) => row.id));
      await withCommitRetry(table, () => table.update({ where: `id IN ${ids}`, valuesSql: { status: "'working'", next_attempt_at: String(now + CLAIM_LEASE_MS) } }));
      tableUpkeep.noteCommit(table);
      return due;
    });
  }
}
