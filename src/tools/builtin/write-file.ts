/**
 * write_file: size-limited, quota-checked, never writes through a symbolic link, and replaces
 * files atomically so a crash or abort never leaves a half-written file behind.
 */
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { defineTool } from '../define.js';
import type { Tool } from '../types.js';
import { resolveInWorkspace, workspaceRelative, workspaceRoot } from '../workspace.js';
import { describeFsError, errnoCode, formatBytes, type FileToolLimits } from './files.js';

async function lstatIfPresent(p: string): Promise<Stats | undefined> {
  try {
    return await lstat(p);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** Bytes used by regular files under `root`; links are not followed (their targets are not ours). */
async function workspaceUsage(root: string, signal: AbortSignal): Promise<number> {
  let total = 0;
  const pending = [root];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    signal.throwIfAborted();
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) pending.push(full);
      else if (entry.isFile()) total += (await lstatIfPresent(full))?.size ?? 0;
    }
  }
  return total;
}

const O_NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

async function writeNew(target: string, content: string, mode: number): Promise<void> {
  const handle = await open(target, O_NEW_FILE, mode);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Temp file in the same directory (so rename is atomic), then rename over the target. */
async function replaceAtomically(target: string, content: string, mode: number): Promise<void> {
  // Hidden, random and short enough to stay under NAME_MAX even for long target names.
  const temp = path.join(path.dirname(target), `.${path.basename(target).slice(0, 100)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeNew(temp, content, mode);
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

async function append(target: string, content: string): Promise<void> {
  // O_NOFOLLOW: fails with ELOOP if a link was swapped in after the checks.
  const handle = await open(target, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  try {
    await handle.writeFile(content, 'utf8');
  } finally {
    await handle.close();
  }
}

export function writeFileTool(limits: FileToolLimits): Tool {
  return defineTool({
    name: 'write_file',
    description:
      `Write a text file in your workspace. Paths are relative to your workspace root (e.g. "notes/todo.md"); ` +
      `missing parent directories are created. Files are limited to ${formatBytes(limits.maxFileBytes)} and the ` +
      `whole workspace to ${formatBytes(limits.maxWorkspaceBytes)}.`,
    input: z.strictObject({
      path: z.string().min(1).describe('File path relative to your workspace, e.g. "notes/todo.md".'),
      content: z.string().describe('The text to write.'),
      mode: z
        .enum(['overwrite', 'append', 'create'])
        .default('overwrite')
        .describe('"overwrite" (default) replaces the file, "append" adds to its end, "create" fails if it already exists.'),
    }),
    risk: 'medium',
    async run(args, context) {
      const root = await workspaceRoot(context.workspaceDir);
      // The final component stays unresolved so a link there is refused, not written through.
      const target = await resolveInWorkspace(context.workspaceDir, args.path, { followFinalSymlink: false });
      const rel = workspaceRelative(root, target);
      if (target === root) throw new Error('the path names the workspace directory itself; give a file path such as "notes.md"');

      const existing = await lstatIfPresent(target).catch((err: unknown) => {
        throw new Error(`cannot write "${rel}": ${describeFsError(err)}`, { cause: err });
      });
      if (existing?.isSymbolicLink()) {
        throw new Error(`"${rel}" is a symbolic link; write_file does not write through symbolic links`);
      }
      if (existing?.isDirectory()) throw new Error(`"${rel}" is a directory; give a file path inside it instead`);
      if (existing && !existing.isFile()) throw new Error(`"${rel}" is not a regular file`);
      if (existing && args.mode === 'create') {
        throw new Error(`"${rel}" already exists; use mode "overwrite" to replace it or "append" to add to it`);
      }

      const bytes = Buffer.byteLength(args.content, 'utf8');
      const oldSize = existing?.size ?? 0;
      const newSize = args.mode === 'append' ? oldSize + bytes : bytes;
      if (newSize > limits.maxFileBytes) {
        throw new Error(
          `"${rel}" would be ${formatBytes(newSize)}, over the ${formatBytes(limits.maxFileBytes)} limit per file; write less or split it into several files`,
        );
      }
      const used = await workspaceUsage(root, context.signal);
      const after = used - oldSize + newSize;
      if (after > limits.maxWorkspaceBytes) {
        throw new Error(
          `writing "${rel}" would bring your workspace to ${formatBytes(after)}, over its ${formatBytes(limits.maxWorkspaceBytes)} quota ` +
            `(${formatBytes(used)} used now); shorten or overwrite existing files with less content first`,
        );
      }

      context.signal.throwIfAborted();
      try {
        await mkdir(path.dirname(target), { recursive: true });
      } catch (err) {
        const code = errnoCode(err);
        const reason = code === 'EEXIST' || code === 'ENOTDIR' ? 'a parent in the path is a file, not a directory' : describeFsError(err);
        throw new Error(`cannot create the directory for "${rel}": ${reason}`, { cause: err });
      }
      try {
        if (args.mode === 'append') await append(target, args.content);
        else if (args.mode === 'create') await writeNew(target, args.content, 0o644);
        else await replaceAtomically(target, args.content, existing ? existing.mode & 0o777 : 0o644);
      } catch (err) {
        if (errnoCode(err) === 'EEXIST' && args.mode === 'create') {
          throw new Error(`"${rel}" already exists; use mode "overwrite" to replace it or "append" to add to it`, { cause: err });
        }
        throw new Error(`cannot write "${rel}": ${describeFsError(err)}`, { cause: err });
      }
      if (args.mode === 'append') return `Appended ${bytes} bytes to ${rel} (now ${newSize} bytes)`;
      return `Wrote ${bytes} bytes to ${rel}`;
    },
  });
}
