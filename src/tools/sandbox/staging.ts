/**
 * When the bot runs as root, the sandboxed code runs as "nobody" (RLIMIT_NPROC does not bind
 * root), and bubblewrap, running as nobody, must be able to reach the directory it binds at
 * /work. The workspace lives in the data directory, which should stay private (mode 0700: it
 * holds people's memories), so the code gets a copy of it instead — a stage — and what the code
 * wrote is copied back when it is done.
 *
 * Why a copy and not the workspace itself (lent to nobody, or kept outside the data directory):
 * - The workspace never belongs to nobody, not even for the length of a run: nothing the code
 *   leaves (links, setuid bits, FIFOs, files it keeps open) reaches the real workspace, and
 *   nobody — which other daemons on the host may share — can never reach any workspace.
 * - Each call has its own stage, named by 128 random bits inside a root-owned directory with mode
 *   0711 (enter, not list): another run's code, which sees only its own stage at /work anyway,
 *   or a host process running as nobody cannot find it.
 * - Copying back is done as root but relative to open directories and without following links
 *   (tree.ts), with size and count limits, so code that is still running, or that planted links
 *   and FIFOs, cannot make root read or write anything outside the stage.
 */
import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { chown, lstat, mkdir, open, rename, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { formatBytes } from '../builtin/files.js';
import { stageParent } from './stage-parent.js';
import { errnoCode, removeTree, walkTree, type Visitor, type WalkLimits } from './tree.js';

export interface StageLimits extends WalkLimits {
  /** Total bytes copied in, and total bytes of new or changed files copied back. */
  maxBytes: number;
  /** Largest single file copied back (the run's RLIMIT_FSIZE). */
  maxFileBytes: number;
}

/** Twice the file tools' 50 MB workspace quota: run_code may have added some beyond it. */
export const DEFAULT_STAGE_LIMITS: Omit<StageLimits, 'maxFileBytes'> = { maxEntries: 10_000, maxDepth: 32, maxBytes: 100 * 1024 * 1024 };

/** Notes listed when the copy back leaves things out; the rest are counted. */
const MAX_NOTES = 12;

export interface Stage {
  /** What bubblewrap binds at /work. */
  dir: string;
  /** Copies the code's work back, deletes the stage, and says what was left out. Never throws. */
  finish(): Promise<string[]>;
}

interface Identity {
  uid: number;
  gid: number;
}

/** Identity of a file's version: any write, chmod or rename changes its ctime, which cannot be set. */
interface Version {
  ino: bigint;
  ctimeNs: bigint;
  size: bigint;
}

interface Copied {
  kind: 'file' | 'directory';
  /** The workspace's entry when it was copied in. */
  source: Version;
  /** The stage's copy once it was handed over (files only). */
  staged?: Version;
}

function versionOf(stats: BigIntStats): Version {
  return { ino: stats.ino, ctimeNs: stats.ctimeNs, size: stats.size };
}

function sameVersion(a: Version, b: Version): boolean {
  return a.ino === b.ino && a.ctimeNs === b.ctimeNs && a.size === b.size;
}

/** Copies at most `limit` bytes from one open file to another; 'too large' if there was more. */
async function copyContents(from: FileHandle, to: FileHandle, limit: number): Promise<number | 'too large'> {
  const buffer = Buffer.allocUnsafe(64 * 1024);
  let total = 0;
  for (;;) {
    const { bytesRead } = await from.read(buffer, 0, buffer.length, null);
    if (bytesRead === 0) return total;
    total += bytesRead;
    if (total > limit) return 'too large';
    let written = 0;
    while (written < bytesRead) written += (await to.write(buffer, written, bytesRead - written)).bytesWritten;
  }
}

/** Whether any execute bit is set: a script made executable stays so. */
function executable(stats: BigIntStats): boolean {
  return (stats.mode & 0o111n) !== 0n;
}

/**
 * Copies the workspace into a new stage owned by `owner`. The stage stays root's (mode 0700)
 * until everything is in it, so nothing can interfere with the copy. Throws when the workspace
 * is over the limits.
 */
export async function stageWorkspace(workspace: string, owner: Identity, limits: StageLimits): Promise<Stage> {
  const dir = path.join(await stageParent(), randomBytes(16).toString('hex'));
  await mkdir(dir, { mode: 0o700 });
  const copied = new Map<string, Copied>();
  try {
    let bytes = 0;
    const complete = await walkTree(
      workspace,
      {
        async directory(rel, stats) {
          const target = path.join(dir, rel);
          await mkdir(target, { mode: 0o700 });
          await chown(target, owner.uid, owner.gid);
          copied.set(rel, { kind: 'directory', source: versionOf(stats) });
          return true;
        },
        async file(rel, handle, stats) {
          bytes += Number(stats.size);
          if (bytes > limits.maxBytes) throw new WorkspaceTooLarge(`more than ${formatBytes(limits.maxBytes)}`);
          const target = await open(path.join(dir, rel), 'wx', executable(stats) ? 0o700 : 0o600);
          try {
            if ((await copyContents(handle, target, limits.maxBytes - bytes + Number(stats.size))) === 'too large') {
              throw new WorkspaceTooLarge(`more than ${formatBytes(limits.maxBytes)}`);
            }
            await target.chown(owner.uid, owner.gid);
            copied.set(rel, { kind: 'file', source: versionOf(stats), staged: versionOf(await target.stat({ bigint: true })) });
          } finally {
            await target.close();
          }
        },
        // Links and special files stay in the workspace, untouched; the code does not see them.
        skipped: () => undefined,
      },
      limits,
    );
    if (!complete) throw new WorkspaceTooLarge(`more than ${limits.maxEntries} files and directories`);
    await chown(dir, owner.uid, owner.gid);
  } catch (error) {
    await removeTree(dir).catch(() => undefined);
    throw error;
  }
  return { dir, finish: () => finish(dir, workspace, copied, limits) };
}

export class WorkspaceTooLarge extends Error {
  constructor(what: string) {
    super(`your workspace holds ${what}, too much to copy into run_code's sandbox: work in a smaller workspace`);
    this.name = 'WorkspaceTooLarge';
  }
}

async function finish(stage: string, workspace: string, copied: Map<string, Copied>, limits: StageLimits): Promise<string[]> {
  const notes: string[] = [];
  const note = (rel: string, why: string): void => {
    notes.push(`${JSON.stringify(rel)}: ${why}`);
  };
  try {
    await deleteWhatTheCodeDeleted(stage, workspace, copied, limits, note);
    await copyBack(stage, workspace, copied, limits, note);
  } catch (error) {
    notes.push(`copying the program's files back stopped early (${errnoCode(error) ?? (error instanceof Error ? error.message : 'error')})`);
  }
  if (!(await removeTree(stage).catch(() => false))) notes.push('(the sandbox copy of the workspace could not be deleted completely)');
  if (notes.length <= MAX_NOTES) return notes;
  return [...notes.slice(0, MAX_NOTES), `… and ${notes.length - MAX_NOTES} more`];
}

/**
 * What was copied in and is gone from the stage (or is now another kind of thing) is deleted
 * from the workspace too, unless it changed there meanwhile. Nothing is deleted when the stage
 * could not be walked whole: what was not seen may still be there.
 */
async function deleteWhatTheCodeDeleted(
  stage: string,
  workspace: string,
  copied: Map<string, Copied>,
  limits: WalkLimits,
  note: (rel: string, why: string) => void,
): Promise<void> {
  const present = new Map<string, Copied['kind']>();
  const unwalked: string[] = [];
  const complete = await walkTree(
    stage,
    {
      directory: (rel) => {
        present.set(rel, 'directory');
        return Promise.resolve(true);
      },
      file: (rel) => {
        present.set(rel, 'file');
        return Promise.resolve();
      },
      skipped: (rel) => {
        unwalked.push(`${rel}/`);
      },
    },
    limits,
  );
  if (!complete) {
    note('.', `more than ${limits.maxEntries} entries: files the program deleted were kept in the workspace`);
    return;
  }
  // Deepest first, so a directory is empty by the time its turn comes.
  const gone = [...copied].filter(([rel, entry]) => present.get(rel) !== entry.kind && !unwalked.some((prefix) => `${rel}/`.startsWith(prefix)));
  for (const [rel, entry] of gone.sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0))) {
    const target = path.join(workspace, rel);
    const now = await lstat(target, { bigint: true }).catch(() => undefined);
    if (now === undefined) continue;
    if (entry.kind === 'directory') {
      // A directory's ctime changes with its contents; rmdir only takes an empty one anyway.
      if (now.isDirectory() && now.ino === entry.source.ino) await rmdir(target).catch(() => undefined);
    } else if (now.isFile() && sameVersion(versionOf(now), entry.source)) {
      await unlink(target);
    } else {
      note(rel, 'the program deleted it, but it changed in the workspace meanwhile: kept');
    }
  }
}

/** Copies new and changed files (and new directories) from the stage into the workspace. */
async function copyBack(
  stage: string,
  workspace: string,
  copied: Map<string, Copied>,
  limits: StageLimits,
  note: (rel: string, why: string) => void,
): Promise<void> {
  let bytes = 0;
  /** Why the stage's version of a file may not replace the workspace's, if it may not. */
  const refusal = async (rel: string, stats: BigIntStats): Promise<string | undefined> => {
    if (stats.size > BigInt(limits.maxFileBytes)) return `larger than ${formatBytes(limits.maxFileBytes)}`;
    if (bytes + Number(stats.size) > limits.maxBytes) return `over the ${formatBytes(limits.maxBytes)} copied back per run`;
    const now = await lstat(path.join(workspace, rel), { bigint: true }).catch(() => undefined);
    if (now === undefined) return undefined;
    if (!now.isFile()) return 'the workspace has something else by that name';
    const entry = copied.get(rel);
    // Replaced only as it was when copied in: a version written meanwhile (by the file tools) wins.
    if (entry === undefined || !sameVersion(versionOf(now), entry.source)) return 'it changed in the workspace while the program ran';
    return undefined;
  };
  const visitor: Visitor = {
    async directory(rel) {
      const target = path.join(workspace, rel);
      const now = await lstat(target, { bigint: true }).catch(() => undefined);
      if (now?.isDirectory() === true) return true;
      if (now !== undefined) {
        note(rel, 'the workspace has something else by that name: the directory was not copied back');
        return false;
      }
      await mkdir(target);
      return true;
    },
    async file(rel, handle, stats) {
      const entry = copied.get(rel);
      if (entry?.staged !== undefined && sameVersion(versionOf(stats), entry.staged)) return; // unchanged
      const refused = await refusal(rel, stats);
      if (refused !== undefined) {
        note(rel, `${refused}: not copied back`);
        return;
      }
      const target = path.join(workspace, rel);
      // Written beside it and renamed over it: a reader never sees half a file.
      const temporary = path.join(path.dirname(target), `.cairn-run-code-${randomBytes(6).toString('hex')}.tmp`);
      const out = await open(temporary, 'wx', executable(stats) ? 0o777 : 0o666);
      let copiedBytes: number | 'too large';
      try {
        copiedBytes = await copyContents(handle, out, Math.min(limits.maxFileBytes, limits.maxBytes - bytes));
      } finally {
        await out.close();
      }
      if (copiedBytes === 'too large') {
        await unlink(temporary);
        note(rel, 'it grew while being copied back: not copied back');
        return;
      }
      bytes += copiedBytes;
      await rename(temporary, target);
    },
    skipped: (rel, what) => {
      note(rel, `${what}: not copied back`);
    },
  };
  if (!(await walkTree(stage, visitor, limits))) note('.', `more than ${limits.maxEntries} entries: only the first ones were copied back`);
}
