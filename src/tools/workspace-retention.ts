/**
 * Retention of per-run workspaces (`<root>/<run id>`): each run may leave up to 50 MB through
 * write_file and more through run_code, so those older than the retention are deleted by a
 * background sweep. Only directories named like run ids are candidates, so schedule workspaces
 * (`schedule-<id>`, deleted with their schedule), chat sessions (`chat-<id>`) and directories
 * named with --workspace are never touched. Symbolic links are never followed: a link is never a
 * candidate, and deleting a directory removes links inside it, not what they point to.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';

/** Names newRunId makes: base-36 start time, then six hex digits. */
const RUN_ID = /^([0-9a-z]{1,12})-[0-9a-f]{6}$/;
const HOUR_MS = 3_600_000;
/** On top of the longest run: recording its end, and clocks that disagree a little. */
const RUN_END_GRACE_MS = 10 * 60_000;
/** Entries looked at while measuring one workspace; a run cannot make the sweep walk forever. */
const MAX_WALK_ENTRIES = 100_000;

export interface WorkspaceRetentionOptions {
  /** Where per-run workspaces are made. */
  root: string;
  /** How long after a run ended (or its workspace was last modified) the workspace is kept; 0 deletes it when the run ends. */
  retentionMs: number;
  /** The longest a run can last: an unended run younger than this may be running in another process. */
  maxRunMs: number;
  /** When each run ended (null: not ended); ids it does not know are absent. From the episode store. */
  endTimes?: (ids: readonly string[]) => Promise<Map<string, number | null>>;
  log: Logger;
  /** Between sweeps; default hourly. */
  intervalMs?: number;
  now?: () => number;
}

export interface SweepResult {
  removed: number;
  bytes: number;
}

export function isRunWorkspaceName(name: string): boolean {
  return RUN_ID.test(name);
}

function errnoCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** Total size and newest modification time below a directory, without following links. */
async function measure(dir: string): Promise<{ bytes: number; newestMs: number }> {
  const top = await lstat(dir);
  let bytes = 0;
  let newestMs = top.mtimeMs;
  let seen = 0;
  const stack = [dir];
  while (stack.length > 0 && seen < MAX_WALK_ENTRIES) {
    const current = stack.pop() ?? dir;
    let entries: Dirent[];
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      continue; // vanished or unreadable: rm reports what matters
    }
    for (const entry of entries) {
      if (++seen > MAX_WALK_ENTRIES) break;
      const full = path.join(current, entry.name);
      const stats = await lstat(full).catch(() => undefined);
      if (stats === undefined) continue;
      bytes += stats.size;
      newestMs = Math.max(newestMs, stats.mtimeMs);
      if (stats.isDirectory()) stack.push(full);
    }
  }
  return { bytes, newestMs };
}

/** Deletes old per-run workspaces at start-up and then periodically; holds protect running ones. */
export class WorkspaceRetention {
  private readonly root: string;
  private readonly now: () => number;
  /** Workspaces in use by runs of this process, by directory name (a count: a name may be held twice). */
  private readonly held = new Map<string, number>();
  private readonly pending = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<SweepResult> | null = null;
  private closed = false;

  constructor(private readonly options: WorkspaceRetentionOptions) {
    this.root = path.resolve(options.root);
    this.now = options.now ?? Date.now;
  }

  /** A sweep now (in the background) and every interval after; the timer never keeps the process alive. */
  start(): void {
    if (this.closed || this.timer !== undefined) return;
    this.background();
    this.timer = setInterval(() => {
      this.background();
    }, this.options.intervalMs ?? HOUR_MS);
    this.timer.unref();
  }

  /**
   * Marks a run's workspace in use; the returned function releases it when the run has ended.
   * With a retention of 0 the workspace is then deleted at once. Directories that are not
   * per-run workspaces under the root are neither held nor ever deleted.
   */
  hold(workspaceDir: string): () => void {
    const dir = path.resolve(workspaceDir);
    const name = path.basename(dir);
    if (path.dirname(dir) !== this.root || !isRunWorkspaceName(name)) return () => undefined;
    this.held.set(name, (this.held.get(name) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(name) ?? 1) - 1;
      if (left > 0) this.held.set(name, left);
      else this.held.delete(name);
      if (left <= 0 && this.options.retentionMs === 0 && !this.closed) {
        this.track(this.remove(name).then((bytes) => {
          if (bytes !== null) this.options.log.debug({ bytes }, 'run workspace removed');
        }));
      }
    };
  }

  /** One pass over the root (a pass already under way is joined, not doubled). */
  sweep(): Promise<SweepResult> {
    this.sweeping ??= this.sweepOnce().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  /** Stops the timer and waits for work under way (a sweep stops at its next workspace). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    while (this.pending.size > 0 || this.sweeping !== null) await Promise.allSettled([...this.pending, this.sweeping]);
  }

  private background(): void {
    this.track(this.sweep());
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) => {
      this.options.log.warn({ err: error }, 'cleaning up old run workspaces failed');
    });
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  private async sweepOnce(): Promise<SweepResult> {
    const result: SweepResult = { removed: 0, bytes: 0 };
    let entries: Dirent[];
    try {
      entries = await readdir(this.root, { withFileTypes: true });
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return result; // no run has made one yet
      throw error;
    }
    const now = this.now();
    const { retentionMs } = this.options;
    // Cheap first: a directory modified within the retention is kept without a look inside.
    const old: string[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory() || !isRunWorkspaceName(entry.name) || this.held.has(entry.name)) continue;
      const stats = await lstat(path.join(this.root, entry.name)).catch(() => undefined);
      if (stats?.isDirectory() === true && now - stats.mtimeMs >= retentionMs) old.push(entry.name);
    }
    if (old.length === 0) return result;
    const ends = (await this.options.endTimes?.(old)) ?? new Map<string, number | null>();
    for (const name of old) {
      if (this.closed) break;
      const end = ends.get(name);
      // Not known to have ended and young enough to be running, perhaps in another process.
      if ((end ?? null) === null && now - startedAt(name) < this.options.maxRunMs + RUN_END_GRACE_MS) continue;
      const measured = await measure(path.join(this.root, name));
      if (now - Math.max(measured.newestMs, end ?? 0) < retentionMs) continue;
      const bytes = await this.remove(name, measured.bytes);
      if (bytes === null) continue;
      result.removed++;
      result.bytes += bytes;
    }
    if (result.removed > 0) this.options.log.info({ ...result, retentionDays: retentionMs / 86_400_000 }, 'old run workspaces removed');
    return result;
  }

  /** Deletes one workspace unless a run holds it; its size, or null when nothing was deleted. */
  private async remove(name: string, measuredBytes?: number): Promise<number | null> {
    const dir = path.join(this.root, name);
    const stats = await lstat(dir).catch(() => undefined);
    if (stats?.isDirectory() !== true || this.held.has(name)) return null;
    const bytes = measuredBytes ?? (await measure(dir)).bytes;
    // A run may have taken it while it was measured.
    if (this.held.has(name)) return null;
    // rm does not follow links: it removes links inside the directory, never their targets.
    await rm(dir, { recursive: true, force: true });
    return bytes;
  }
}

/** When a run began, from its id (0 when the id does not say). */
function startedAt(name: string): number {
  const stamp = RUN_ID.exec(name)?.[1];
  const ms = stamp === undefined ? Number.NaN : Number.parseInt(stamp, 36);
  return Number.isFinite(ms) ? ms : 0;
}
