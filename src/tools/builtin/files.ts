/**
 * Shared limits for the file tools, and read_file. Every path goes through resolveInWorkspace;
 * fs errors are rewritten into workspace-relative messages so no host path reaches the model.
 */
import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { z } from 'zod';
import { defineTool } from '../define.js';
import type { Tool } from '../types.js';
import { resolveInWorkspace, workspaceRelative, workspaceRoot } from '../workspace.js';

export interface FileToolLimits {
  /** Most characters one read_file call returns. */
  maxReadChars: number;
  /** Largest file write_file will produce, in bytes. */
  maxFileBytes: number;
  /** Total size of all files in the workspace that write_file will allow, in bytes. */
  maxWorkspaceBytes: number;
  /** Most entries one list_files call shows. */
  maxListEntries: number;
}

export const DEFAULT_FILE_LIMITS: FileToolLimits = {
  // Below the registry's 8,000-character output cap, so a read and its "continue at offset" hint arrive whole.
  maxReadChars: 6_000,
  maxFileBytes: 1024 * 1024,
  maxWorkspaceBytes: 50 * 1024 * 1024,
  maxListEntries: 500,
};

const limitsSchema = z.strictObject({
  maxReadChars: z.number().int().positive().optional(),
  maxFileBytes: z.number().int().positive().optional(),
  maxWorkspaceBytes: z.number().int().positive().optional(),
  maxListEntries: z.number().int().positive().optional(),
});

/** Fills in defaults; throws on a non-positive or non-integer limit (a configuration mistake). */
export function resolveFileLimits(options: Partial<FileToolLimits> = {}): FileToolLimits {
  const parsed = limitsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`invalid file tool limits: ${z.prettifyError(parsed.error)}`);
  const given = parsed.data;
  return {
    maxReadChars: given.maxReadChars ?? DEFAULT_FILE_LIMITS.maxReadChars,
    maxFileBytes: given.maxFileBytes ?? DEFAULT_FILE_LIMITS.maxFileBytes,
    maxWorkspaceBytes: given.maxWorkspaceBytes ?? DEFAULT_FILE_LIMITS.maxWorkspaceBytes,
    maxListEntries: given.maxListEntries ?? DEFAULT_FILE_LIMITS.maxListEntries,
  };
}

export function errnoCode(err: unknown): string | undefined {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/** An fs error as a short reason; never the error's own message, which contains host paths. */
export function describeFsError(err: unknown): string {
  const code = errnoCode(err);
  if (code === undefined) return err instanceof Error ? err.message : 'unknown error';
  const reasons: Record<string, string> = {
    ENOENT: 'it does not exist',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ELOOP: 'it is a symbolic link',
    EISDIR: 'it is a directory',
    ENOTDIR: 'a parent in the path is a file, not a directory',
    EEXIST: 'it already exists',
    ENOSPC: 'the disk is full',
    ENAMETOOLONG: 'the name is too long',
  };
  return reasons[code] ?? code;
}

/** "1234 bytes" or "1.5 MB": exact when small, readable when large. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return bytes === 1 ? '1 byte' : `${bytes} bytes`;
  // "1 MB", not "1.0 MB": limits are usually round numbers.
  const [value, unit] = bytes < 1024 * 1024 ? [bytes / 1024, 'KB'] : [bytes / (1024 * 1024), 'MB'];
  return `${value.toFixed(1).replace(/\.0$/, '')} ${unit}`;
}

/** Binary files are sniffed like git does: a NUL byte in the first 8 KB. */
const SNIFF_BYTES = 8192;
const CHUNK_BYTES = 64 * 1024;

interface ReadWindow {
  text: string;
  /** Total characters in the file. */
  total: number;
}

/**
 * Streams the file through a UTF-8 decoder keeping only [offset, offset + maxChars): memory
 * stays bounded for large files, and the total is still known for the "more" hint.
 */
async function readWindow(absPath: string, offset: number, maxChars: number, signal: AbortSignal): Promise<ReadWindow | 'binary'> {
  // O_NOFOLLOW: the path is already resolved, so a link here means it was swapped in since.
  // O_NONBLOCK: opening a FIFO must not hang the run (non-regular files are refused below).
  const handle = await open(absPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) throw new Error('it is not a regular file');
    const buffer = Buffer.alloc(CHUNK_BYTES);
    const decoder = new StringDecoder('utf8');
    const pieces: string[] = [];
    const end = offset + maxChars;
    let total = 0;
    const take = (text: string): void => {
      const start = total;
      total += text.length;
      if (total > offset && start < end) pieces.push(text.slice(Math.max(offset - start, 0), end - start));
    };
    for (let position = 0; ; ) {
      signal.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      if (position === 0 && buffer.subarray(0, Math.min(bytesRead, SNIFF_BYTES)).includes(0)) return 'binary';
      position += bytesRead;
      take(decoder.write(buffer.subarray(0, bytesRead)));
    }
    take(decoder.end());
    return { text: pieces.join(''), total };
  } finally {
    await handle.close();
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

export function readFileTool(limits: FileToolLimits): Tool {
  return defineTool({
    name: 'read_file',
    description:
      `Read a text file from your workspace. Paths are relative to your workspace root (e.g. "notes/todo.md"). ` +
      `Returns at most ${limits.maxReadChars} characters per call; when the file is longer the reply says which offset to continue from.`,
    input: z.strictObject({
      path: z.string().min(1).describe('File path relative to your workspace, e.g. "notes/todo.md".'),
      offset: z.number().int().min(0).optional().describe('Character offset to start reading from (default 0).'),
      max_chars: z
        .number()
        .int()
        .min(1)
        .optional()
        .describe(`Maximum characters to return (default and upper limit ${limits.maxReadChars}).`),
    }),
    risk: 'low',
    idempotent: true,
    async run(args, context) {
      const root = await workspaceRoot(context.workspaceDir);
      const abs = await resolveInWorkspace(context.workspaceDir, args.path, { mustExist: true });
      const rel = workspaceRelative(root, abs);
      if ((await stat(abs).catch(() => undefined))?.isDirectory()) throw new Error(`"${rel}" is a directory; use list_files to see its contents`);

      const offset = args.offset ?? 0;
      const maxChars = Math.min(args.max_chars ?? limits.maxReadChars, limits.maxReadChars);
      let window: ReadWindow | 'binary';
      try {
        window = await readWindow(abs, offset, maxChars, context.signal);
      } catch (err) {
        if (context.signal.aborted) throw err;
        throw new Error(`cannot read "${rel}": ${describeFsError(err)}`, { cause: err });
      }
      if (window === 'binary') {
        throw new Error(`"${rel}" looks like a binary file (it contains NUL bytes); read_file only reads text files`);
      }

      const { total } = window;
      if (total === 0) return `("${rel}" is empty)`;
      if (offset > total) throw new Error(`offset ${offset} is past the end of "${rel}", which has ${total} characters`);
      if (offset === total) return `(end of "${rel}": it has ${total} characters)`;
      let text = window.text;
      let end = offset + text.length;
      // Keep surrogate pairs whole; the next call starts at the cut instead.
      if (end < total && isHighSurrogate(text.charCodeAt(text.length - 1))) {
        text = text.slice(0, -1);
        end -= 1;
      }
      if (end >= total) return text;
      return `${text}\n\n[… ${total - end} more characters; call read_file with offset=${end} to continue]`;
    },
  });
}
