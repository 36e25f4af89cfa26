/**
 * Files a run attached to its answer (the attach_file tool), read back from its workspace for
 * posting: confined to the workspace again (the path must resolve inside it, to a regular file,
 * through no link that leads out), within Discord's limits per file and per message. What does
 * not fit is named in the answer with its size and left with the run (`/runs show`).
 */
import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { RunResult } from '../agent/events.js';
import { humanBytes } from '../files/limits.js';
import type { OutgoingFile } from '../files/types.js';
import type { Logger } from '../log.js';
import type { RunRecord, RunRecords } from '../runs/types.js';
import { shownName } from './files-in.js';

const MIB = 1024 * 1024;
/** Discord's default upload limit per file, for bots since 2024 (Reference > Uploading Files). */
export const DISCORD_FILE_BYTES = 10 * MIB;
/** Files per message (Reference > Uploading Files). */
export const DISCORD_FILES_PER_MESSAGE = 10;
/** A whole request's bound: larger multipart bodies are refused however the files are split. */
const DISCORD_MESSAGE_BYTES = 25 * MIB;
/** Files posted with one answer; the run attaches at most 10, this is a bound on a larger list. */
const MAX_FILES_READ = 20;

/** A file ready to post, its bytes read from the workspace. */
export interface AnswerFile extends OutgoingFile {
  data: Buffer;
}

/** A file the run attached that is not posted, and why in words for the answer. */
export interface LeftFile extends OutgoingFile {
  why: 'too-large' | 'unreadable' | 'too-many';
}

export interface AnswerFiles {
  /** Groups of files for one message each, within Discord's count and size per message. */
  batches: AnswerFile[][];
  left: LeftFile[];
}

export const NO_FILES: AnswerFiles = { batches: [], left: [] };

function inside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** The file's bytes if it is a regular file inside the workspace and at most `maxBytes`, else why not. */
async function readConfined(root: string, file: OutgoingFile, maxBytes: number): Promise<Buffer | LeftFile['why']> {
  if (file.path.includes('\0') || path.isAbsolute(file.path)) return 'unreadable';
  const joined = path.resolve(root, ...file.path.split('/'));
  if (!inside(root, joined)) return 'unreadable';
  let real: string;
  try {
    real = await realpath(joined);
  } catch {
    return 'unreadable';
  }
  // A link anywhere on the way that leads out of the workspace is not followed.
  if (!inside(root, real)) return 'unreadable';
  // O_NOFOLLOW: the last component swapped for a link since realpath is refused, not followed.
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => null);
  if (handle === null) return 'unreadable';
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return 'unreadable';
    if (stats.size > maxBytes) return 'too-large';
    const data = await handle.readFile();
    // It may have grown since stat: the bytes read are what counts.
    return data.length > maxBytes ? 'too-large' : data;
  } finally {
    await handle.close();
  }
}

/**
 * The run's attachments, read and grouped for posting. `maxFileBytes`: the place's limit when
 * Discord says it (an interaction's attachment_size_limit), else its default 10 MiB.
 */
export async function readAnswerFiles(result: RunResult, maxFileBytes = DISCORD_FILE_BYTES): Promise<AnswerFiles> {
  const attached = result.attachments ?? [];
  if (attached.length === 0) return NO_FILES;
  const limit = Number.isFinite(maxFileBytes) && maxFileBytes > 0 ? Math.min(maxFileBytes, DISCORD_MESSAGE_BYTES) : DISCORD_FILE_BYTES;
  let root: string;
  try {
    root = await realpath(result.workspaceDir);
  } catch {
    return { batches: [], left: attached.map((f) => ({ ...f, why: 'unreadable' as const })) };
  }
  const ready: AnswerFile[] = [];
  const left: LeftFile[] = [];
  for (const [i, file] of attached.entries()) {
    if (i >= MAX_FILES_READ) {
      left.push({ ...file, why: 'too-many' });
      continue;
    }
    const read = await readConfined(root, file, limit);
    if (typeof read === 'string') left.push({ ...file, why: read });
    else ready.push({ ...file, bytes: read.length, data: read });
  }
  return { batches: batchFiles(ready), left };
}

/** Up to 10 files and 25 MiB a message, in order. */
function batchFiles(files: AnswerFile[]): AnswerFile[][] {
  const batches: AnswerFile[][] = [];
  let current: AnswerFile[] = [];
  let bytes = 0;
  for (const file of files) {
    if (current.length > 0 && (current.length >= DISCORD_FILES_PER_MESSAGE || bytes + file.bytes > DISCORD_MESSAGE_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(file);
    bytes += file.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Lines for the answer naming each file not posted, with its size and where it is. */
export function leftFilesNote(files: AnswerFiles, runId: string): string {
  return files.left
    .map((f) => {
      const name = `${shownName(f.name)} (${humanBytes(f.bytes)})`;
      const kept = `it is kept with the run: \`/runs show id:${runId}\``;
      if (f.why === 'too-large') return `📎 ${name} is too large for Discord; ${kept}`;
      if (f.why === 'too-many') return `📎 ${name} is one file too many for one answer; ${kept}`;
      return `📎 ${name} could not be attached: it is no longer a file in the run's workspace.`;
    })
    .join('\n');
}

/** What the run record keeps: each attached file, and whether it reached Discord. */
export function filesOutRecord(files: AnswerFiles, postedNames: ReadonlySet<string>): RunRecord['filesOut'] {
  const strip = ({ name, path: filePath, bytes }: OutgoingFile) => ({ name, path: filePath, bytes });
  return [...files.batches.flat().map((f) => ({ ...strip(f), posted: postedNames.has(f.name) })), ...files.left.map((f) => ({ ...strip(f), posted: false }))];
}

/** Whether there is anything to record. */
export function hasFiles(files: AnswerFiles): boolean {
  return files.batches.length > 0 || files.left.length > 0;
}

/** Keeps where the run's files went in its record (`/runs show`); a failure is logged, the answer is out. */
export async function recordFilesOut(
  bot: { app: { runRecords: RunRecords }; log: Logger },
  runId: string,
  files: AnswerFiles,
  postedNames: ReadonlySet<string>,
): Promise<void> {
  if (!hasFiles(files)) return;
  await bot.app.runRecords.setFilesOut(runId, filesOutRecord(files, postedNames)).catch((error: unknown) => {
    bot.log.warn({ err: error, runId }, "could not record where the run's files went");
  });
}
