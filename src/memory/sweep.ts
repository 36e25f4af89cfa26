import type { Logger } from '../log.js';
import { withCommitRetry, type MemoryDb } from './db.js';
import { planEviction, type Quotas } from './eviction.js';
import { sqlList } from './schema.js';

/**
 * Deletes expired memories, then enforces the quotas: per user, per server, and the total cap
 * (see eviction.ts). Each quota only takes rows of the tenant or user that is over it.
 */
export async function sweepMemories(db: Pick<MemoryDb, 'memories' | 'schedules'>, quotas: Quotas, now: number, log: Logger): Promise<void> {
  const table = db.memories;
  await withCommitRetry(table, () => table.delete(`expires_at IS NOT NULL AND expires_at <= ${now}`));
  const plan = await planEviction(table, db.schedules, quotas, now);
  // A thousand ids a statement, so no delete grows with the number evicted.
  for (let i = 0; i < plan.ids.length; i += 1_000) {
    const batch = plan.ids.slice(i, i + 1_000);
    await withCommitRetry(table, () => table.delete(`id IN ${sqlList(batch)}`));
  }
  if (plan.ids.length === 0) return;
  log.info(
    { evicted: plan.ids.length, byUserQuota: plan.byUserQuota, byServerQuota: plan.byServerQuota, byTotalCap: plan.byTotalCap, ...quotas },
    'memories evicted over their quotas',
  );
}
