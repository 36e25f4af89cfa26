import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import lockfile from 'proper-lockfile';

/**
 * Mutual exclusion for the read-then-write of insert-if-absent saves. LanceDB's own
 * `mergeInsert(key).whenNotMatchedInsertAll()` writes duplicates when two processes insert the
 * same key at once (lance#4585; `setUnenforcedPrimaryKey` does not help once the key has a scalar
 * index, lance#9238), so a save checks and appends while holding this lock.
 */
export interface WriteLock {
  /** Runs `work` while no other holder of this lock (in this process or, for local paths, another) runs. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** False for object-store URIs (s3://…): only writers in this process are excluded. */
  readonly crossProcess: boolean;
}

/** The last queued holder of each lock in this process, so one process never contends with itself on the file. */
const tails = new Map<string, Promise<unknown>>();

function chainInProcess<T>(key: string, work: () => Promise<T>): Promise<T> {
  const result = (tails.get(key) ?? Promise.resolve()).then(work, work);
  const tail = result.catch(() => undefined);
  tails.set(key, tail);
  void tail.then(() => {
    if (tails.get(key) === tail) tails.delete(key);
  });
  return result;
}

/** A local directory for a LanceDB URI, or undefined for object stores (s3://, gs://, az://, memory://…). */
export function localDirectory(uri: string): string | undefined {
  if (uri.startsWith('file://')) return fileURLToPath(uri);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) return undefined;
  return path.resolve(uri);
}

// A holder that dies keeps the lock until its directory's mtime is this old (proper-lockfile's minimum is 2 s).
const STALE_MS = 5_000;
// Short, jittered waits: the lock is held for milliseconds. ~25 s in all before giving up.
const RETRIES = { retries: 1_000, minTimeout: 1, maxTimeout: 25, factor: 1.5, randomize: true };

/**
 * The write lock named `name` for the database at `uri`: a lock directory beside the tables
 * (`.<name>.write.lock`, ignored by LanceDB, which lists only `*.lance`) for local paths, and an
 * in-process queue everywhere.
 */
export function writeLock(uri: string, name: string): WriteLock {
  const dir = localDirectory(uri);
  if (dir === undefined) {
    const key = `${uri}\u0000${name}`;
    return { crossProcess: false, run: (work) => chainInProcess(key, work) };
  }
  const lockPath = path.join(dir, `.${name}.write.lock`);
  return {
    crossProcess: true,
    run: (work) =>
      chainInProcess(lockPath, async () => {
        await mkdir(dir, { recursive: true });
        // The first argument keys proper-lockfile's own table of held locks: one per lock name, not per directory.
        const release = await lockfile.lock(lockPath, {
          lockfilePath: lockPath,
          realpath: false,
          stale: STALE_MS,
          retries: RETRIES,
          // The default throws from a timer (crashing the process) if the lock was taken over as
          // stale, e.g. after the event loop stalled for seconds; the write under it still commits.
          onCompromised: () => undefined,
        });
        try {
          return await work();
        } finally {
          // Already released if it was compromised (see above): nothing left to undo.
          await release().catch((error: unknown) => {
            if (!(error instanceof Error && 'code' in error && error.code === 'ERELEASED')) throw error;
          });
        }
      }),
  };
}
