import { z } from 'zod';
import { withCommitRetry, type Table } from '../memory/db.js';
import { sqlString } from '../memory/schema.js';

/** The `meta` row naming the servers told today that their budget is nearly spent. */
const META_KEY = 'server_budget_warnings';
const Stored = z.object({ day: z.number().int(), guilds: z.array(z.string()) });
const MetaRow = z.object({ value: z.string() });

/**
 * Which servers were told today (UTC) that 80% of their daily budget is spent. Kept in the `meta`
 * table, so a restart the same day does not tell them again; one row, rewritten per new notice.
 */
export class WarnedServers {
  private day = -1;
  private guilds = new Set<string>();

  constructor(
    /** The meta table; null keeps the record in memory only (tests, the terminal). */
    private readonly meta: Table | null,
    private readonly track: (write: Promise<unknown>, what: string) => void,
  ) {}

  /** Reads today's record (at start). A row from another day, or one that does not parse, is ignored. */
  async load(today: number): Promise<void> {
    if (this.meta === null) return;
    const rows = await this.meta.query().where(`key = ${sqlString(META_KEY)}`).limit(1).toArray();
    const row = MetaRow.safeParse(rows[0]);
    if (!row.success) return;
    let stored: z.output<typeof Stored>;
    try {
      stored = Stored.parse(JSON.parse(row.data.value));
    } catch {
      return;
    }
    if (stored.day !== today) return;
    this.day = today;
    this.guilds = new Set(stored.guilds);
  }

  /**
   * True the first time `guildId` is claimed on `day`, which records it; false afterwards. Synchronous,
   * so two runs settling at once cannot both claim it.
   */
  claim(guildId: string, day: number): boolean {
    if (day !== this.day) {
      this.day = day;
      this.guilds = new Set();
    }
    if (this.guilds.has(guildId)) return false;
    this.guilds.add(guildId);
    const meta = this.meta;
    if (meta !== null) {
      // Written in claim order (one queue per table), so the last write holds every claim.
      const value = JSON.stringify({ day, guilds: [...this.guilds] });
      this.track(
        withCommitRetry(meta, () => meta.mergeInsert('key').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute([{ key: META_KEY, value }])),
        'recording a server budget notice',
      );
    }
    return true;
  }
}
