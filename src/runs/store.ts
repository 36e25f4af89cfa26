/**
 * The run records in LanceDB: one row per run started from Discord. Every row read back is
 * checked (a malformed one is logged and treated as absent, never passed on half-typed); reads
 * are bounded; records older than RUN_RECORD_KEEP_MS are dropped when the table opens, then daily.
 */
import type { Schema } from 'apache-arrow';
import { z } from 'zod';
import type { Logger } from '../log.js';
import { pendingWrites, withCommitRetry, type Table } from '../memory/db.js';
import { GroupCommitter } from '../memory/group-commit.js';
import { sqlString } from '../memory/schema.js';
import { boundedFilesOut, RUN_RECORDS_TABLE, RunRecordRow, runRecordRow, runRecordsSchema } from './schema.js';
import type { RunRecord, RunRecords } from './types.js';

/** Opens (creating on first use) a table of the memory database: MemoryDb.table. */
export type OpenTable = (name: string, schema: Schema) => Promise<Table>;

/** A retry is asked for within days; half a year covers `/runs show` of anything still on screen. */
export const RUN_RECORD_KEEP_MS = 180 * 86_400_000;
/** How often old records are dropped while Cairn runs (it may run for months without a restart). */
export const RUN_RECORD_PRUNE_EVERY_MS = 86_400_000;
/** Retries listed per run: more than anyone presses, and a bound on the read. */
export const MAX_RETRIES_LISTED = 50;

const RetryKeys = z.array(z.object({ run_id: z.string(), created_at: z.number() }));

export class RunRecordStore implements RunRecords {
  private opened: Promise<{ table: Table; write: GroupCommitter }> | undefined;
  private pruning: NodeJS.Timeout | undefined;

  constructor(
    private readonly open: OpenTable,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Opened on first use (old records pruned then); a failed open is tried again next time. */
  private async db(): Promise<{ table: Table; write: GroupCommitter }> {
    this.opened ??= this.open(RUN_RECORDS_TABLE, runRecordsSchema).then(
      async (table) => {
        await this.pruneTable(table);
        // Runs starting together share a commit.
        return { table, write: new GroupCommitter(table, 'run_id') };
      },
      (error: unknown) => {
        this.opened = undefined;
        throw error;
      },
    );
    return this.opened;
  }

  /**
   * Opens the table (pruning it) now and prunes it daily from then on: called at the bot's start,
   * so that the first Retry does no database work before Discord's 3 s acknowledgement deadline.
   */
  async ready(): Promise<void> {
    await this.db();
    this.pruning ??= setInterval(() => {
      this.prune().catch((error: unknown) => {
        this.log.warn({ err: error }, 'could not drop old run records; trying again tomorrow');
      });
    }, RUN_RECORD_PRUNE_EVERY_MS).unref();
  }

  /** Drops the records older than RUN_RECORD_KEEP_MS; how many went. */
  async prune(): Promise<number> {
    const { table } = await this.db();
    return this.pruneTable(table);
  }

  /** Stops the daily pruning; waits for an opening (and its prune) and the writes under way, so the database can close. */
  async close(): Promise<void> {
    clearInterval(this.pruning);
    this.pruning = undefined;
    const opened = await this.opened?.catch(() => undefined);
    await opened?.write.idle();
  }

  private async pruneTable(table: Table): Promise<number> {
    const deleted = await withCommitRetry(table, () => table.delete(`created_at < ${this.now() - RUN_RECORD_KEEP_MS}`));
    return deleted.numDeletedRows;
  }

  async save(record: RunRecord): Promise<void> {
    const { write } = await this.db();
    const row = runRecordRow(record);
    await write.put(record.runId, row);
  }

  async get(runId: string): Promise<RunRecord | null> {
    const { table } = await this.db();
    await pendingWrites(table);
    const rows: unknown[] = await table.query().where(`run_id = ${sqlString(runId)}`).limit(1).toArray();
    if (rows[0] === undefined) return null;
    const parsed = RunRecordRow.safeParse(rows[0]);
    if (parsed.success) return parsed.data;
    this.log.warn({ runId, issue: parsed.error.issues[0]?.message }, 'a stored run record is malformed and was skipped');
    return null;
  }

  async retriesOf(runId: string): Promise<string[]> {
    const { table } = await this.db();
    await pendingWrites(table);
    const rows = RetryKeys.parse(
      await table
        .query()
        .where(`retry_of = ${sqlString(runId)}`)
        .select(['run_id', 'created_at'])
        .limit(MAX_RETRIES_LISTED)
        .toArray(),
    );
    return rows.sort((a, b) => a.created_at - b.created_at || a.run_id.localeCompare(b.run_id)).map((r) => r.run_id);
  }

  /** Records where the run's files went; a run without a record stays without one. */
  async setFilesOut(runId: string, files: RunRecord['filesOut']): Promise<void> {
    const { write } = await this.db();
    const filesOut = JSON.stringify(boundedFilesOut(files));
    await write.apply(runId, (current) => (current === undefined ? null : { ...current, files_out: filesOut }));
  }

  /**
   * Forgets a person: the runs they started, and the records of runs that asked about a message
   * they wrote (its text is theirs). Returns how many records went.
   */
  async forgetUser(userId: string): Promise<number> {
    const { table } = await this.db();
    const id = sqlString(userId);
    const deleted = await withCommitRetry(table, () => table.delete(`user_id = ${id} OR asked_author_id = ${id}`));
    return deleted.numDeletedRows;
  }

  /** Everything kept of one person's runs, newest first (bounded: records live half a year). */
  async recordsOf(userId: string): Promise<RunRecord[]> {
    const { table } = await this.db();
    await pendingWrites(table);
    const rows: unknown[] = await table.query().where(`user_id = ${sqlString(userId)}`).toArray();
    const records: RunRecord[] = [];
    for (const row of rows) {
      const parsed = RunRecordRow.safeParse(row);
      if (parsed.success) records.push(parsed.data);
    }
    return records.sort((a, b) => b.createdAt - a.createdAt);
  }
}
