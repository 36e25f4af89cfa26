import { readdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { localDirectory } from './write-lock.js';

/**
 * LanceDB's cleanup deletes a superseded index's files but, on a local filesystem, leaves its
 * `_indices/<uuid>/` directory behind (lance-format/lance#7937, #8320; fixed in releases newer
 * than the @lancedb/lancedb 0.31 this project can install). Every optimize supersedes each index
 * once, so a busy table gathered thousands of empty directories, and every later cleanup walks
 * them all. `rmdir` removes a directory only while it is empty, so an index being written into
 * one is never touched; callers also hold the table's maintenance lock, under which every index
 * of the table is built. Object stores have no directories: nothing to do there.
 * Returns how many directories went.
 */
export async function removeEmptyIndexDirs(databaseUri: string, tableName: string): Promise<number> {
  const dir = localDirectory(databaseUri);
  if (dir === undefined) return 0;
  const root = path.join(dir, `${tableName}.lance`, '_indices');
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  let removed = 0;
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    try {
      await rmdir(path.join(root, entry.name));
      removed += 1;
    } catch {
      // Not empty (a live index), or gone already: left as it is.
    }
  }
  return removed;
}
