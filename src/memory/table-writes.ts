/**
 * How tables are written and opened: every write to a table in one chain per process, redone when
 * it loses a commit race; creation under a lock across processes; the row lock of shared databases.
 */
import * as lancedb from '@lancedb/lancedb';
import type { Schema } from 'apache-arrow';
import { writeLock, type WriteLock } from './write-lock.js';

type Table = lancedb.Table;

/** LanceDB reports optimistic-concurrency losses with these words; such writes are safe to redo. */
function isCommitConflict(error: unknown): boolean {
  return error instanceof Error && /commit conflict|retryable|conflicting|concurrent/i.test(error.message);
}

/**
 * Redoes `write` when it loses a commit race, without queueing it behind the table's other
 * writes: for appends, which commute with everything, under their own lock (see write-lock.ts).
 */
export async function retryCommitConflicts<T>(write: () => Promise<T>, attempts = 6, table?: Table): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!isCommitConflict(error) || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * 2 ** attempt));
      // Redone from the version that won: a write based on the old one may be incompatible with it
      // (an update after another process's overwrite is never rebased).
      await table?.checkoutLatest().catch(() => undefined);
    }
  }
}

/** Resolves once a promise chain that may grow while it is awaited (a job queue) has run out. */
export async function drainChain(tail: () => Promise<unknown>): Promise<void> {
  let current: Promise<unknown>;
  do {
    current = tail();
    await current;
  } while (current !== tail());
}

/** The last queued write of each table in this process. */
const writeTails = new WeakMap<Table, Promise<unknown>>();

/** Resolves once the writes queued so far on `table` have finished (read-your-writes). */
export async function pendingWrites(table: Table): Promise<void> {
  await writeTails.get(table);
}

/**
 * Runs a write to `table` after the writes queued before it, and redoes it if it still loses a
 * commit race (with another process, say). Concurrent writers in one process would otherwise
 * keep invalidating each other's commits: 50 concurrent runs exhausted any bounded retry and
 * lost votes.
 */
export function withCommitRetry<T>(table: Table, write: () => Promise<T>, attempts = 6): Promise<T> {
  const run = () => retryCommitConflicts(write, attempts, table);
  const result = (writeTails.get(table) ?? Promise.resolve()).then(run, run);
  writeTails.set(table, result.catch(() => undefined));
  return result;
}

/** Each open table's database, and whether other processes write its rows (rowWriteLock). */
const tableHomes = new WeakMap<Table, { uri: string; shared: boolean }>();

/**
 * Opens a table, creating it first if it is missing: under a lock across the processes sharing
 * the database, so that two starting at once do not both create it (LanceDB then committed one
 * creation as an overwrite of the other's, and writes based on the first failed).
 */
export async function openOrCreate(db: lancedb.Connection, uri: string, names: readonly string[], name: string, schema: Schema, shared: boolean): Promise<Table> {
  const table = names.includes(name)
    ? await openOrCreateTable(db, names, name, schema)
    : await writeLock(uri, 'tables').run(async () => openOrCreateTable(db, await db.tableNames(), name, schema));
  tableHomes.set(table, { uri, shared });
  return table;
}

/** Another process creating a table has made its directory but not yet its first version. */
const HALF_CREATED = /could not be loaded|was not found|_versions/i;
/** How long a table another process is creating may take to appear (~3 s in all). */
const CREATE_WAITS_MS = [25, 50, 100, 200, 400, 800, 1_600];

async function openOrCreateTable(db: lancedb.Connection, names: readonly string[], name: string, schema: Schema): Promise<Table> {
  let create = !names.includes(name);
  for (let attempt = 0; ; attempt += 1) {
    try {
      return create ? await db.createEmptyTable(name, schema, { mode: 'create' }) : await db.openTable(name);
    } catch (error) {
      const text = String(error);
      // Another process created it first (or is creating it): open it, waiting for its first version.
      if (/already exists/i.test(text)) create = false;
      else if (create || !HALF_CREATED.test(text) || attempt >= CREATE_WAITS_MS.length) throw error;
      await new Promise((resolve) => setTimeout(resolve, CREATE_WAITS_MS[attempt] ?? 0));
    }
  }
}

/**
 * The lock for read-modify-writes of `table`'s rows (src/memory/group-commit.ts): across the
 * processes sharing its database when it is shared — LanceDB takes an upsert computed from a row
 * another process has changed since without a conflict: three processes voting on one run kept one
 * process's votes. Otherwise none: the group commit already runs in its table's write chain
 * (withCommitRetry), and the lock file would cost every group commit.
 */
export function rowWriteLock(table: Table): { lock: WriteLock; shared: boolean } {
  const home = tableHomes.get(table);
  if (home?.shared !== true) return { lock: { crossProcess: false, run: (work) => work() }, shared: false };
  return { lock: writeLock(home.uri, `${table.name}.rows`), shared: true };
}

/** Writes queued on `from` come before those on `to` (a table reopened under a new handle: read-your-writes). */
export function carryWrites(from: Table, to: Table): void {
  const tail = writeTails.get(from);
  if (tail !== undefined) writeTails.set(to, tail);
}
