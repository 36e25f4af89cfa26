/**
 * Durable runs in LanceDB: a row per run not yet ended (`durable_runs`: what was asked, where it
 * is shown, how often it was resumed) and its journal (`run_journal`: one row per entry, in
 * order). Journal appends from every run share commits; each append resolves once its commit
 * is on disk, and the agent acts on nothing before that. A run that ends leaves nothing here.
 */
import { Field, Float64, Schema, Utf8 } from 'apache-arrow';
import { z } from 'zod';
import type { JournalEntry, RunJournal } from '../agent/journal.js';
import type { Logger } from '../log.js';
import { pendingWrites, withCommitRetry, type Table } from '../memory/db.js';
import { BatchedAppend } from '../memory/batched-append.js';
import { GroupCommitter } from '../memory/group-commit.js';
import { jsonOf, sqlList, sqlString } from '../memory/schema.js';
import { tableUpkeep } from '../memory/table-upkeep.js';
import type { OpenTable } from '../runs/store.js';
import { JournalEntrySchema } from './entries.js';
import { StoredRunRequest } from './request.js';

export const DURABLE_RUNS_TABLE = 'durable_runs';
export const RUN_JOURNAL_TABLE = 'run_journal';

/** Unfinished runs read at a start: more than any deployment has in flight, and a bound on the read. */
export const MAX_UNFINISHED = 1_000;
/** Journal entries with no run record are swept once this old (a run starting elsewhere is younger). */
const ORPHAN_AGE_MS = 60 * 60_000;
/** Entries one run may record: its step limit is far lower (each step is a model call and a few tools). */
export const MAX_ENTRIES = 20_000;

const text = (name: string, nullable = false) => new Field(name, new Utf8(), nullable);
const number = (name: string) => new Field(name, new Float64(), false);

export const durableRunsSchema = new Schema([
  text('run_id'),
  // Apart from the request's JSON so that forgetting a person finds their runs.
  text('user_id'),
  text('status'),
  text('owner'),
  number('resumes'),
  number('crashes'),
  text('request'),
  text('surface'),
  number('started_at'),
  number('updated_at'),
]);

export const runJournalSchema = new Schema([text('run_id'), number('seq'), text('entry'), number('at')]);

/**
 * `queued`: waiting for a worker (src/queue), not started; `running`: a process is (or was, until
 * it died) running it; `suspended`: a shutdown stopped it cleanly.
 */
export const DURABLE_STATUSES = ['queued', 'running', 'suspended'] as const;
export type DurableStatus = (typeof DURABLE_STATUSES)[number];

export interface DurableRun {
  runId: string;
  status: DurableStatus;
  /** The process that last ran it (host, pid): for the logs. */
  owner: string;
  /** Times it has been resumed. */
  resumes: number;
  /** Process deaths while it ran, since it last made progress: a second one stops it. */
  crashes: number;
  request: StoredRunRequest;
  /** Where it is shown, as its surface stored it (checked by that surface). */
  surface: unknown;
  startedAt: number;
  updatedAt: number;
}

const DurableRunRow = z
  .object({
    run_id: z.string().min(1),
    status: z.enum(DURABLE_STATUSES),
    owner: z.string(),
    resumes: z.number().int().nonnegative(),
    crashes: z.number().int().nonnegative(),
    request: jsonOf(StoredRunRequest),
    surface: jsonOf(z.unknown()),
    started_at: z.number(),
    updated_at: z.number(),
  })
  .transform(
    (row): DurableRun => ({
      runId: row.run_id,
      status: row.status,
      owner: row.owner,
      resumes: row.resumes,
      crashes: row.crashes,
      request: row.request,
      surface: row.surface,
      startedAt: row.started_at,
      updatedAt: row.updated_at,
    }),
  );

const JournalRow = z.object({ seq: z.number().int().nonnegative(), entry: jsonOf(JournalEntrySchema) });

function rowOf(run: DurableRun): Record<string, unknown> {
  return {
    run_id: run.runId,
    user_id: run.request.scope.userId,
    status: run.status,
    owner: run.owner,
    resumes: run.resumes,
    crashes: run.crashes,
    request: JSON.stringify(run.request),
    surface: JSON.stringify(run.surface),
    started_at: run.startedAt,
    updated_at: run.updatedAt,
  };
}

/** A run's journal could not be read back whole: it is not replayed. */
export class UnreadableJournal extends Error {}

export class DurableRunStore {
  private opened: Promise<{ runs: Table; journal: Table; write: GroupCommitter }> | undefined;
  /** Entries of every run added while a commit is in flight share the next one. */
  private readonly appends = new BatchedAppend(async () => (await this.tables()).journal);

  constructor(
    private readonly open: OpenTable,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  private async tables(): Promise<{ runs: Table; journal: Table; write: GroupCommitter }> {
    this.opened ??= Promise.all([this.open(DURABLE_RUNS_TABLE, durableRunsSchema), this.open(RUN_JOURNAL_TABLE, runJournalSchema)]).then(
      ([runs, journal]) => ({ runs, journal, write: new GroupCommitter(runs, 'run_id') }),
      (error: unknown) => {
        this.opened = undefined;
        throw error;
      },
    );
    return this.opened;
  }

  /** Records a new run (a plain append: no other process knows its id yet). */
  async create(run: DurableRun): Promise<void> {
    const { runs } = await this.tables();
    const row = rowOf({ ...run, updatedAt: this.now() });
    await withCommitRetry(runs, () => runs.add([row]));
    tableUpkeep.noteCommit(runs);
  }

  /** Records a run as running (one taken over after a restart) or changes its record. */
  async save(run: DurableRun): Promise<void> {
    const { write } = await this.tables();
    const row = rowOf({ ...run, updatedAt: this.now() });
    await write.put(run.runId, row);
  }

  /**
   * One run's record as it is now, with other processes' writes seen (a worker claiming a run the
   * gateway queued a moment ago); undefined when it has ended or never existed.
   */
  async get(runId: string): Promise<DurableRun | undefined> {
    const { runs, write } = await this.tables();
    await write.idle();
    await runs.checkoutLatest();
    const rows: unknown[] = await runs.query().where(`run_id = ${sqlString(runId)}`).limit(1).toArray();
    if (rows[0] === undefined) return undefined;
    const parsed = DurableRunRow.safeParse(rows[0]);
    if (parsed.success) return parsed.data;
    this.log.warn({ runId, issue: parsed.error.issues[0]?.message }, 'a stored durable run is malformed');
    return undefined;
  }

  /** The runs a shutdown or a crash left unfinished, oldest first. */
  async unfinished(): Promise<DurableRun[]> {
    const { runs } = await this.tables();
    await pendingWrites(runs);
    const rows: unknown[] = await runs.query().limit(MAX_UNFINISHED).toArray();
    const found: DurableRun[] = [];
    for (const row of rows) {
      const parsed = DurableRunRow.safeParse(row);
      if (parsed.success) found.push(parsed.data);
      else this.log.warn({ issue: parsed.error.issues[0]?.message }, 'a stored durable run is malformed and is not resumed');
    }
    return found.sort((a, b) => a.startedAt - b.startedAt);
  }

  /** The ids of the unfinished runs acting as `userId` (another process's writes seen). */
  async idsOf(userId: string): Promise<string[]> {
    const { runs, write } = await this.tables();
    await write.idle();
    await runs.checkoutLatest();
    const rows = z.array(z.object({ run_id: z.string() })).parse(await runs.query().where(`user_id = ${sqlString(userId)}`).select(['run_id']).limit(MAX_UNFINISHED).toArray());
    return rows.map((row) => row.run_id);
  }

  /** The run's journal, in order; throws UnreadableJournal when an entry is missing or malformed. */
  async entries(runId: string): Promise<JournalEntry[]> {
    const { journal } = await this.tables();
    await pendingWrites(journal);
    await this.appends.idle();
    // Written by another process, maybe (the worker that ran it until it died).
    await journal.checkoutLatest();
    const rows: unknown[] = await journal.query().where(`run_id = ${sqlString(runId)}`).select(['seq', 'entry']).limit(MAX_ENTRIES).toArray();
    const ordered: z.output<typeof JournalRow>[] = [];
    for (const row of rows) {
      const parsed = JournalRow.safeParse(row);
      if (!parsed.success) throw new UnreadableJournal(`entry unreadable: ${parsed.error.issues[0]?.message ?? 'malformed'}`);
      ordered.push(parsed.data);
    }
    ordered.sort((a, b) => a.seq - b.seq);
    if (ordered.some((row, index) => row.seq !== index)) throw new UnreadableJournal('entries are missing');
    return ordered.map((row) => row.entry);
  }

  /** The journal a run records into, going on after `recorded` (its entries so far). */
  journal(runId: string, recorded: readonly JournalEntry[], onAppend?: () => void): RunJournal {
    let seq = recorded.length;
    return {
      recorded,
      append: async (entries) => {
        const rows = entries.map((entry) => ({ run_id: runId, seq: seq++, entry: JSON.stringify(entry), at: this.now() }));
        await this.appends.add(rows);
        onAppend?.();
      },
    };
  }

  /** Marks a run as stopped by a shutdown: resumed at the next start, not counted as a crash. */
  async suspend(runId: string): Promise<void> {
    const { write } = await this.tables();
    const updatedAt = this.now();
    await write.apply(runId, (current) => (current === undefined ? null : { ...current, status: 'suspended', updated_at: updatedAt }));
  }

  /** The run made progress since it was resumed: earlier crashes no longer count against it. */
  async clearCrashes(runId: string): Promise<void> {
    const { write } = await this.tables();
    await write.apply(runId, (current) => (current === undefined || current.crashes === 0 ? null : { ...current, crashes: 0 }));
  }

  /**
   * The run is over: its record goes, then its journal. In that order, a crash between the two
   * leaves a journal with no run (swept at a later start), never a run with no journal, which
   * would be resumed from nothing: run again from the start, its tools called again.
   */
  async end(runId: string): Promise<void> {
    await this.remove([runId]);
  }

  /**
   * Deletes journal entries whose run has no record (its end was cut short by a crash), given
   * every unfinished run's id. Only entries older than ORPHAN_AGE_MS: a run another process is
   * starting now has its record written before its first entry, but may be newer than `ids`.
   */
  async sweepOrphans(ids: readonly string[]): Promise<void> {
    const { journal } = await this.tables();
    const known = ids.length === 0 ? '' : ` AND run_id NOT IN ${sqlList(ids)}`;
    await withCommitRetry(journal, () => journal.delete(`at < ${this.now() - ORPHAN_AGE_MS}${known}`));
  }

  /**
   * Forgets a person's unfinished runs (what they asked, what their runs saw): their records and
   * journals go, and they are not resumed. Returns how many went.
   */
  async forgetUser(userId: string): Promise<number> {
    const ids = await this.idsOf(userId);
    if (ids.length > 0) await this.remove(ids);
    return ids.length;
  }

  /** Deletes runs' records, then their journals (the order end() explains). */
  private async remove(ids: readonly string[]): Promise<void> {
    const { runs, journal, write } = await this.tables();
    const list = sqlList(ids);
    await write.idle();
    await withCommitRetry(runs, () => runs.delete(`run_id IN ${list}`));
    tableUpkeep.noteCommit(runs);
    await this.appends.idle();
    await withCommitRetry(journal, () => journal.delete(`run_id IN ${list}`));
    tableUpkeep.noteCommit(journal);
  }

  /** Waits for the writes under way, so the database can close. */
  async close(): Promise<void> {
    const opened = await this.opened?.catch(() => undefined);
    await this.appends.idle();
    await opened?.write.idle();
  }
}
