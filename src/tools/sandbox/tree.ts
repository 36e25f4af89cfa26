/**
 * Walking and deleting, as root, a directory tree that sandboxed code owns and might still be
 * changing (the stage of staging.ts), without ever being led outside it.
 *
 * Node has no openat(2), but a path through /proc/self/fd/N resolves like one: the kernel jumps
 * straight to the directory open as N, so a directory on the way that was renamed, or replaced by
 * a symbolic link, cannot redirect the walk. Entries are opened with O_NOFOLLOW: a link is
 * reported, never followed. Linux only, like the sandbox.
 */
import { randomBytes } from 'node:crypto';
import { constants, type BigIntStats } from 'node:fs';
import { open, opendir, rename, rmdir, unlink, type FileHandle } from 'node:fs/promises';

/** Read-only, no link at the end, no blocking on a FIFO, never a controlling terminal. */
const OPEN_ENTRY = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

export function errnoCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** The path that resolves to `name` inside the directory open as `dir`: openat(dir, name). */
export function inDirectory(dir: FileHandle, name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new Error(`not a directory entry name: ${JSON.stringify(name)}`);
  }
  return `/proc/self/fd/${dir.fd}/${name}`;
}

/** Opens a directory; fails on a symbolic link instead of following it. */
export function openDirectory(dirPath: string): Promise<FileHandle> {
  return open(dirPath, OPEN_ENTRY | constants.O_DIRECTORY);
}

/** The names in an open directory, at most `limit` (+1, so the caller can tell it was cut). */
async function namesIn(dir: FileHandle, limit: number): Promise<string[]> {
  const names: string[] = [];
  const listing = await opendir(`/proc/self/fd/${dir.fd}`);
  try {
    for await (const entry of listing) {
      names.push(entry.name);
      if (names.length > limit) break;
    }
  } finally {
    await listing.close().catch(() => undefined);
  }
  return names;
}

export interface Visitor {
  /** A directory; return false to leave its contents out. */
  directory(rel: string, stats: BigIntStats): Promise<boolean>;
  /** A regular file, open for reading; the handle is closed after this returns. */
  file(rel: string, handle: FileHandle, stats: BigIntStats): Promise<void>;
  /** Anything that is not walked: links, FIFOs, sockets, directories nested too deep. */
  skipped(rel: string, what: string): void;
}

export interface WalkLimits {
  maxEntries: number;
  maxDepth: number;
}

/**
 * Visits everything below `root` (pre-order: a directory before its contents), with paths
 * relative to it joined by "/". Returns false when it stopped at `maxEntries`.
 */
export async function walkTree(root: string, visitor: Visitor, limits: WalkLimits): Promise<boolean> {
  let seen = 0;
  let complete = true;

  const walk = async (dir: FileHandle, prefix: string, depth: number): Promise<void> => {
    for (const name of await namesIn(dir, limits.maxEntries - seen)) {
      if (++seen > limits.maxEntries) {
        complete = false;
        return;
      }
      const rel = prefix === '' ? name : `${prefix}/${name}`;
      let handle: FileHandle;
      try {
        handle = await open(inDirectory(dir, name), OPEN_ENTRY);
      } catch (error) {
        const code = errnoCode(error);
        if (code === 'ELOOP') visitor.skipped(rel, 'a symbolic link');
        else if (code === 'ENXIO') visitor.skipped(rel, 'not a regular file'); // a socket
        else if (code !== 'ENOENT') visitor.skipped(rel, `unreadable (${code ?? 'error'})`);
        continue;
      }
      try {
        const stats = await handle.stat({ bigint: true });
        if (stats.isDirectory()) {
          if (depth >= limits.maxDepth) visitor.skipped(rel, `nested deeper than ${limits.maxDepth} directories`);
          else if (await visitor.directory(rel, stats)) await walk(handle, rel, depth + 1);
          if (!complete) return;
        } else if (stats.isFile()) {
          await visitor.file(rel, handle, stats);
        } else {
          visitor.skipped(rel, 'not a regular file');
        }
      } finally {
        await handle.close();
      }
    }
  };

  const top = await openDirectory(root);
  try {
    await walk(top, '', 0);
  } finally {
    await top.close();
  }
  return complete;
}

/** Directory levels held open at once while deleting; deeper ones are moved up to the top first. */
const REMOVE_DEPTH = 16;

/**
 * Deletes `root` and everything in it. A tree nested deeper than a few levels (the code can nest
 * directories without end) is flattened by moving its deep directories up to `root`, so the
 * number of open descriptors stays small. Returns false when something is left
 * (it stops after `maxOperations`).
 */
export async function removeTree(root: string, maxOperations = 1_000_000): Promise<boolean> {
  let operations = 0;
  const top = await openDirectory(root);

  // Returns whether it deleted or moved anything: the top level is emptied pass after pass until
  // a pass makes no progress (what is left cannot be deleted, or someone keeps adding).
  const empty = async (dir: FileHandle, depth: number): Promise<boolean> => {
    let progress = false;
    for (const name of await namesIn(dir, 10_000)) {
      if (++operations > maxOperations) return false;
      const entry = inDirectory(dir, name);
      try {
        await unlink(entry);
        progress = true;
        continue;
      } catch (error) {
        if (errnoCode(error) !== 'EISDIR') continue; // vanished, or cannot be deleted
      }
      if (depth >= REMOVE_DEPTH) {
        const moved = await rename(entry, inDirectory(top, `.deep-${randomBytes(8).toString('hex')}`)).then(
          () => true,
          () => false,
        );
        progress ||= moved;
        continue;
      }
      const child = await openDirectory(entry).catch(() => undefined);
      if (child === undefined) continue;
      try {
        while (await empty(child, depth + 1));
      } finally {
        await child.close();
      }
      progress ||= await rmdir(entry).then(
        () => true,
        () => false,
      );
    }
    return progress;
  };

  try {
    while (await empty(top, 0));
  } finally {
    await top.close();
  }
  if (operations > maxOperations) return false;
  return rmdir(root).then(
    () => true,
    () => false,
  );
}
