/**
 * Runs one Python program under the command chain from command.ts and supervises it: the
 * wall-clock timer and the caller's abort signal SIGKILL the whole process group, output is
 * captured with bounds. A root bot runs the code as nobody: in the sandbox on a copy of the
 * workspace (staging.ts), unsandboxed on the workspace itself, lent to nobody for the run.
 *
 * bwrap exits as soon as the program does and leaves its pid-1 reaper for init to collect, so
 * the bot's PID 1 must reap orphans (in a container: docker run --init, or tini), not node.
 */
import path from 'node:path';
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { chmod, chown, lchown, lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { buildCommand, NOBODY, SANDBOX_HELPER_TASKS, systemDirs, type Command, type HelperPaths, type SandboxMode } from './command.js';
import { StreamCapture, type CapturedStream } from './output.js';
import { DEFAULT_STAGE_LIMITS, stageWorkspace, type Stage } from './staging.js';

export interface ExecutionRequest {
  mode: SandboxMode;
  helpers: HelperPaths;
  python: string;
  code: string;
  workspaceDir: string;
  timeoutMs: number;
  memoryBytes: number;
  cpuSeconds: number;
  /** Processes and threads the program may have, itself included. */
  maxProcesses: number;
  maxFileBytes: number;
  signal?: AbortSignal;
}

export interface ExecutionResult {
  /** Exit status as the chain reported it; null when it was killed by a signal. */
  exitCode: number | null;
  /** The signal that ended the program, when one did (e.g. "SIGXCPU"). */
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  stdout: CapturedStream;
  stderr: CapturedStream;
  durationMs: number;
  /** What the copy back from a stage left out (links, special files, conflicts, limits); usually empty. */
  workspaceNotes: string[];
}

/** After the program exits, how long a leftover holder of its pipes may keep them open. */
const PIPE_GRACE_MS = 1000;

/** The identity to drop to: the bot's own when unprivileged, nobody's when root. */
export function codeIdentity(): { uid: number; gid: number } | undefined {
  return process.getuid?.() === 0 ? NOBODY : undefined;
}

/**
 * RLIMIT_NPROC counts every task of the uid, not just the run's, so the limit given to prlimit
 * is what the uid already has plus the allowance.
 */
export async function tasksOwnedBy(uid: number): Promise<number> {
  const pids = (await readdir('/proc').catch(() => [])).filter((name) => /^\d+$/.test(name));
  let total = 0;
  // In batches: thousands of concurrent reads could run out of file descriptors.
  for (let i = 0; i < pids.length; i += 32) {
    const statuses = await Promise.all(pids.slice(i, i + 32).map((pid) => readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')));
    for (const status of statuses) {
      if (/^Uid:\s+(\d+)/m.exec(status)?.[1] !== String(uid)) continue;
      total += Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? '1');
    }
  }
  return total;
}

interface Loan {
  users: number;
  owner: { uid: number; gid: number };
  /** The directory's permission bits before the loan: the code may change them. */
  mode: number;
}
const loans = new Map<string, Loan>();
let ownershipQueue: Promise<unknown> = Promise.resolve();

/** Ownership changes run one at a time, so a run starting as another ends sees a settled owner. */
function serialized(step: () => Promise<void>): Promise<void> {
  const done = ownershipQueue.then(step);
  ownershipQueue = done.catch(() => undefined);
  return done;
}

/**
 * Unsandboxed only (the explicit opt-out, no isolation anyway): makes the workspace writable by
 * `to` for the duration of a run, then gives it back. Only the directory itself changes owner: a
 * recursive chown could be steered through links the code made.
 */
async function lendWorkspace(root: string, to: { uid: number; gid: number }): Promise<() => Promise<void>> {
  await serialized(async () => {
    const loan = loans.get(root);
    if (loan) {
      loan.users += 1;
      return;
    }
    const info = await stat(root);
    await chown(root, to.uid, to.gid);
    loans.set(root, { users: 1, owner: { uid: info.uid, gid: info.gid }, mode: info.mode & 0o7777 });
  });
  return () =>
    serialized(async () => {
      const loan = loans.get(root);
      if (!loan) return;
      loan.users -= 1;
      if (loan.users > 0) return;
      loans.delete(root);
      await chown(root, loan.owner.uid, loan.owner.gid).catch(() => undefined);
      await chmod(root, loan.mode).catch(() => undefined);
      await reclaim(root, loan.owner);
    });
}

/** Entries looked at when taking a workspace back; a run cannot make the host walk forever. */
const RECLAIM_LIMIT = 10_000;

/**
 * What the code left behind becomes the bot's again, without setuid, setgid or world-write bits:
 * those would be live on the host, where the sandbox's nosuid mount no longer applies. Nothing of
 * the run is alive any more (its namespace died with it), and links are never followed.
 */
async function reclaim(root: string, owner: { uid: number; gid: number }): Promise<void> {
  const pending = [root];
  let seen = 0;
  while (pending.length > 0 && seen < RECLAIM_LIMIT) {
    const dir = pending.pop() ?? root;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (++seen > RECLAIM_LIMIT) break;
      const full = path.join(dir, entry.name);
      await lchown(full, owner.uid, owner.gid).catch(() => undefined);
      if (entry.isSymbolicLink()) continue;
      const info = await lstat(full).catch(() => null);
      if (info === null || info.isSymbolicLink()) continue;
      const safe = info.mode & 0o777 & ~0o002;
      if ((info.mode & 0o7777) !== safe) await chmod(full, safe).catch(() => undefined);
      if (info.isDirectory()) pending.push(full);
    }
  }
}

function signalName(exitCode: number): string | undefined {
  return Object.entries(osConstants.signals).find(([, number]) => number === exitCode)?.[0];
}

export async function executePython(request: ExecutionRequest): Promise<ExecutionResult> {
  const workspace = await realpath(request.workspaceDir);
  const runAs = codeIdentity();
  const uid = runAs?.uid ?? process.getuid?.() ?? 0;
  // As root: a sandbox gets a stage (nobody may not be able to reach the workspace, which should
  // stay private); unsandboxed, the chain starts in the workspace as root, so it is lent instead.
  let stage: Stage | undefined;
  let giveBack = (): Promise<void> => Promise.resolve();
  if (runAs && request.mode === 'sandbox') {
    stage = await stageWorkspace(workspace, runAs, { ...DEFAULT_STAGE_LIMITS, maxFileBytes: request.maxFileBytes });
  } else if (runAs) {
    giveBack = await lendWorkspace(workspace, runAs);
  }
  let result: ExecutionResult | undefined;
  try {
    const command = buildCommand({
      mode: request.mode,
      helpers: request.helpers,
      python: request.python,
      workspace: stage?.dir ?? workspace,
      runAs,
      systemDirs: request.mode === 'sandbox' ? await systemDirs() : [],
      limits: {
        memoryBytes: request.memoryBytes,
        cpuSeconds: request.cpuSeconds,
        taskLimit: (await tasksOwnedBy(uid)) + request.maxProcesses + (request.mode === 'sandbox' ? SANDBOX_HELPER_TASKS : 0),
        maxFileBytes: request.maxFileBytes,
      },
    });
    result = await supervise(command, request);
    // bwrap reports a child killed by signal N as exit status 128 + N.
    if (request.mode === 'sandbox' && result.signal === null && result.exitCode !== null && result.exitCode > 128) {
      result = { ...result, signal: signalName(result.exitCode - 128) ?? null };
    }
  } finally {
    await giveBack();
    const notes = await stage?.finish();
    if (result && notes) result.workspaceNotes = notes;
  }
  return result;
}

function supervise(command: Command, request: ExecutionRequest): Promise<ExecutionResult> {
  const started = performance.now();
  const stdout = new StreamCapture();
  const stderr = new StreamCapture();
  let timedOut = false;
  let aborted = false;

  return new Promise<ExecutionResult>((resolve, reject) => {
    const child = spawn(command.file, command.args, {
      cwd: command.cwd,
      env: command.env,
      // Its own process group, so one kill reaches everything the program forked.
      detached: true,
      stdio: command.codeVia === 'fd3' ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
    });
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const onAbort = (): void => {
      aborted = true;
      killGroup();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, request.timeoutMs);
    let graceTimer: NodeJS.Timeout | undefined;
    request.signal?.addEventListener('abort', onAbort, { once: true });
    if (request.signal?.aborted) onAbort();
    const cleanUp = (): void => {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      request.signal?.removeEventListener('abort', onAbort);
    };

    child.stdout?.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
    });
    const codeStream = child.stdio[command.codeVia === 'fd3' ? 3 : 0];
    if (codeStream instanceof Writable) {
      // EPIPE when the chain fails before reading the code; its exit status tells why.
      codeStream.on('error', () => undefined);
      codeStream.end(request.code);
    }

    child.on('error', (err) => {
      cleanUp();
      killGroup();
      reject(new Error(`cannot start ${command.file}: ${err.message}`, { cause: err }));
    });
    child.on('exit', () => {
      // Sweep what the program left in its group; a leftover that moved to its own session
      // (possible only unsandboxed) loses its pipes after a grace period instead.
      killGroup();
      graceTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, PIPE_GRACE_MS);
    });
    child.on('close', (code, signal) => {
      cleanUp();
      resolve({
        exitCode: code,
        signal,
        timedOut,
        aborted,
        stdout: stdout.result(),
        stderr: stderr.result(),
        durationMs: Math.round(performance.now() - started),
        workspaceNotes: [],
      });
    });
  });
}
