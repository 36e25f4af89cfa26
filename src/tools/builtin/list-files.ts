/**
 * list_files: a sorted, capped listing that never follows symbolic links (a link is shown as
 * such, not expanded), so a link pointing outside cannot be used to browse the host.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { defineTool } from '../define.js';
import type { Tool } from '../types.js';
import { resolveInWorkspace, workspaceRelative, workspaceRoot } from '../workspace.js';
import { describeFsError, formatBytes, type FileToolLimits } from './files.js';

/** Deeper directories are shown but not expanded. */
export const MAX_LIST_DEPTH = 10;
/** Past the cap entries are only counted, and counting stops here to bound the work. */
const MAX_COUNTED = 10_000;

type EntryType = 'file' | 'dir' | 'symlink' | 'other';

interface Listing {
  lines: string[];
  hidden: number;
  countingStopped: boolean;
  depthLimited: boolean;
}

function entryType(entry: Dirent): EntryType {
  if (entry.isSymbolicLink()) return 'symlink';
  if (entry.isDirectory()) return 'dir';
  if (entry.isFile()) return 'file';
  return 'other';
}

async function describeEntry(full: string, rel: string, type: EntryType): Promise<string> {
  switch (type) {
    case 'dir':
      return `dir      ${rel}/`;
    case 'symlink':
      return `symlink  ${rel} (not followed)`;
    case 'file': {
      const size = (await lstat(full).catch(() => undefined))?.size;
      return `file     ${rel}${size === undefined ? '' : ` (${formatBytes(size)})`}`;
    }
    case 'other':
      return `other    ${rel}`;
  }
}

async function walk(
  dir: string,
  dirRel: string,
  depth: number,
  options: { recursive: boolean; max: number; signal: AbortSignal },
  out: Listing,
): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  // Code-unit order: deterministic and locale-independent.
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    options.signal.throwIfAborted();
    if (out.countingStopped) return;
    const full = path.join(dir, entry.name);
    const rel = dirRel === '.' ? entry.name : `${dirRel}/${entry.name}`;
    const type = entryType(entry);
    if (out.lines.length < options.max) {
      out.lines.push(await describeEntry(full, rel, type));
    } else if (++out.hidden >= MAX_COUNTED) {
      out.countingStopped = true;
      return;
    }
    if (options.recursive && type === 'dir') {
      if (depth + 1 >= MAX_LIST_DEPTH) out.depthLimited = true;
      else await walk(full, rel, depth + 1, options, out).catch(() => undefined); // vanished or unreadable: skip
    }
  }
}

export function listFilesTool(limits: FileToolLimits): Tool {
  return defineTool({
    name: 'list_files',
    description:
      `List files and directories in your workspace. Paths are relative to your workspace root; "." (the default) is the root. ` +
      `Shows each entry's type and size, sorted by path, at most ${limits.maxListEntries} entries. Symbolic links are shown, not followed.`,
    input: z.strictObject({
      path: z.string().optional().describe('Directory relative to your workspace (default ".", the workspace root).'),
      recursive: z
        .boolean()
        .optional()
        .describe(`Also list the contents of subdirectories, up to ${MAX_LIST_DEPTH} levels deep (default false).`),
    }),
    risk: 'low',
    idempotent: true,
    async run(args, context) {
      const root = await workspaceRoot(context.workspaceDir);
      const abs = await resolveInWorkspace(context.workspaceDir, args.path ?? '.', { mustExist: true });
      const rel = workspaceRelative(root, abs);
      const info = await stat(abs).catch((err: unknown) => {
        throw new Error(`cannot list "${rel}": ${describeFsError(err)}`, { cause: err });
      });
      if (!info.isDirectory()) throw new Error(`"${rel}" is a file, not a directory; use read_file to read it`);

      const out: Listing = { lines: [], hidden: 0, countingStopped: false, depthLimited: false };
      const recursive = args.recursive ?? false;
      await walk(abs, rel, 0, { recursive, max: limits.maxListEntries, signal: context.signal }, out).catch((err: unknown) => {
        if (context.signal.aborted) throw err;
        throw new Error(`cannot list "${rel}": ${describeFsError(err)}`, { cause: err });
      });

      const where = rel === '.' ? 'your workspace' : `"${rel}"`;
      if (out.lines.length === 0) return `${where === 'your workspace' ? 'Your workspace' : where} is empty.`;
      const header = `Contents of ${where}${recursive ? ' (recursive)' : ''}:`;
      const notes: string[] = [];
      if (out.hidden > 0) {
        const count = out.countingStopped ? `at least ${out.hidden}` : `${out.hidden}`;
        notes.push(`… and ${count} more entries not shown; list a subdirectory to see them`);
      }
      if (out.depthLimited) notes.push(`(directories deeper than ${MAX_LIST_DEPTH} levels were not expanded)`);
      return [header, ...out.lines, ...notes].join('\n');
    },
  });
}
