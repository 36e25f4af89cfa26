/**
 * The command line that runs Python under limits, with or without bubblewrap. Pure apart from
 * the helpers that look at the host (PATH lookup, the /lib layout), so the argv can be tested.
 *
 * The chain is `setpriv … -- prlimit … -- [bwrap … --] python`: each step execs the next, so
 * the spawned pid stays the leader of the process group the wall-clock timer kills.
 */
import { constants } from 'node:fs';
import { access, lstat, readlink, stat } from 'node:fs/promises';
import path from 'node:path';

export type SandboxMode = 'sandbox' | 'unsandboxed';

/** Where the code sees the workspace, and where its source is mounted (sandbox mode). */
export const SANDBOX_WORKDIR = '/work';
export const SANDBOX_SCRIPT = '/code/main.py';

/** The unprivileged identity the code runs as when the bot is root ("nobody" on Debian). */
export const NOBODY = { uid: 65534, gid: 65534 } as const;

/** Size caps for the sandbox's memory-backed directories (tmpfs pages escape RLIMIT_AS). */
export const TMP_BYTES = 64 * 1024 * 1024;
export const SHM_BYTES = 16 * 1024 * 1024;
const MAX_OPEN_FILES = 64;
/** Tasks of the code's uid that are bubblewrap, not the program: bwrap itself and its pid-1 reaper. */
export const SANDBOX_HELPER_TASKS = 2;

export interface ProcessLimits {
  memoryBytes: number;
  cpuSeconds: number;
  /** Tasks (processes and threads) the run's uid may have in total, existing ones included. */
  taskLimit: number;
  maxFileBytes: number;
}

export interface HelperPaths {
  setpriv: string;
  prlimit: string;
  /** Required in sandbox mode. */
  bwrap?: string;
}

/** A top-level directory that binaries under /usr may need: a merged-/usr symlink or a real one. */
export type SystemDir = { path: string; symlinkTo: string } | { path: string; symlinkTo?: undefined };

export interface CommandSpec {
  mode: SandboxMode;
  helpers: HelperPaths;
  python: string;
  /** Real path of the workspace on the host. */
  workspace: string;
  limits: ProcessLimits;
  /** Drop to this uid/gid first (when the bot runs as root: RLIMIT_NPROC does not bind root). */
  runAs?: { uid: number; gid: number };
  systemDirs: readonly SystemDir[];
}

export interface Command {
  file: string;
  args: string[];
  /** How the child gets the source: fd 3 (read by bwrap into SANDBOX_SCRIPT) or stdin. */
  codeVia: 'fd3' | 'stdin';
  cwd: string;
  env: Record<string, string>;
}

const SAFE_PATH = '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin';

/** Host configuration bound read-only into the sandbox when it exists (see buildCommand). */
export const SHARED_CONFIG = ['/etc/alternatives', '/etc/matplotlibrc', '/etc/fonts', '/var/cache/fontconfig'] as const;

/**
 * Set for the program in both modes. Agg draws to files, with no display to look for. One BLAS
 * thread: OpenBLAS starts one per host CPU and reserves memory for each, which on a big host
 * would run into the task limit and RLIMIT_AS (measured: 328 MB of address space for importing
 * matplotlib and saving a PNG with one thread, 468 MB with two).
 */
export const LIBRARY_ENV = { MPLBACKEND: 'Agg', OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' } as const;

/** Caches (matplotlib's font list, fontconfig's) go to the sandbox's /tmp, not the workspace. */
export const SANDBOX_CACHE_ENV = { MPLCONFIGDIR: '/tmp/matplotlib', XDG_CACHE_HOME: '/tmp/cache' } as const;
/** -I: ignore PYTHON* variables and user site-packages; -X utf8: fixed encoding; -u: output survives a kill. */
const PYTHON_FLAGS = ['-I', '-X', 'utf8', '-u'];

/**
 * Run first, by the same interpreter: closes every descriptor above stderr, then execs the real
 * program. Neither node nor bwrap closes descriptors the bot inherited without close-on-exec,
 * and an inherited directory descriptor would lead out of the sandbox's filesystem.
 */
const CLOSE_FDS_THEN_EXEC = [
  'import os, sys',
  "for fd in [int(name) for name in os.listdir('/proc/self/fd')]:",
  '    if fd > 2:',
  '        try: os.close(fd)',
  '        except OSError: pass',
  'os.execv(sys.argv[1], sys.argv[1:])',
].join('\n');

/** argv that runs `python` with `script` after the descriptor cleanup. */
function pythonArgv(python: string, script: string): string[] {
  return [python, '-I', '-S', '-c', CLOSE_FDS_THEN_EXEC, python, ...PYTHON_FLAGS, script];
}

export function buildCommand(spec: CommandSpec): Command {
  const { limits } = spec;
  const setpriv = [spec.helpers.setpriv];
  if (spec.runAs) setpriv.push(`--reuid=${spec.runAs.uid}`, `--regid=${spec.runAs.gid}`, '--clear-groups');
  // Without it a crash of the bot would leave the chain running (bwrap adds its own for the sandbox).
  setpriv.push('--pdeathsig', 'SIGKILL', '--');
  const prlimit = [
    spec.helpers.prlimit,
    `--as=${limits.memoryBytes}`,
    // Soft limit sends SIGXCPU (reported as "CPU time limit"), the hard one a second later SIGKILL.
    `--cpu=${limits.cpuSeconds}:${limits.cpuSeconds + 1}`,
    `--nproc=${limits.taskLimit}`,
    `--fsize=${limits.maxFileBytes}`,
    '--core=0',
    `--nofile=${MAX_OPEN_FILES}`,
    '--',
  ];
  const env = { PATH: SAFE_PATH, LANG: 'C.UTF-8', ...LIBRARY_ENV };

  if (spec.mode === 'unsandboxed') {
    return {
      file: spec.helpers.setpriv,
      args: [...setpriv.slice(1), ...prlimit, ...pythonArgv(spec.python, '-')],
      codeVia: 'stdin',
      cwd: spec.workspace,
      env: { ...env, HOME: spec.workspace },
    };
  }

  const bwrap = spec.helpers.bwrap;
  if (bwrap === undefined) throw new Error('sandbox mode needs the path of bwrap');
  const sandbox = [
    bwrap,
    '--unshare-all',
    // Explicit so --disable-userns is accepted; the code cannot nest namespaces (kernel attack surface).
    '--unshare-user',
    '--disable-userns',
    '--die-with-parent',
    '--new-session',
    '--hostname',
    'sandbox',
    '--ro-bind',
    '/usr',
    '/usr',
    ...spec.systemDirs.flatMap((dir) =>
      dir.symlinkTo === undefined ? ['--ro-bind', dir.path, dir.path] : ['--symlink', dir.symlinkTo, dir.path],
    ),
    // Read-only configuration that preinstalled packages need; absent ones are skipped. numpy
    // finds its BLAS through the alternatives symlinks, Debian's matplotlib reads its rc file from
    // /etc, fontconfig (used through Pillow) its configuration and the system's font cache, without
    // which it scans every font on each run. Nothing in them is secret.
    ...SHARED_CONFIG.flatMap((file) => ['--ro-bind-try', file, file]),
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--size',
    String(SHM_BYTES),
    '--tmpfs',
    '/dev/shm',
    '--size',
    String(TMP_BYTES),
    '--tmpfs',
    '/tmp',
    '--bind',
    spec.workspace,
    SANDBOX_WORKDIR,
    '--chdir',
    SANDBOX_WORKDIR,
    '--ro-bind-data',
    '3',
    SANDBOX_SCRIPT,
    // Otherwise / and /dev are unbounded in-memory filesystems the code could fill.
    '--remount-ro',
    '/dev',
    '--remount-ro',
    '/',
    '--clearenv',
    '--setenv',
    'PATH',
    '/usr/bin:/bin',
    '--setenv',
    'HOME',
    SANDBOX_WORKDIR,
    '--setenv',
    'TMPDIR',
    '/tmp',
    '--setenv',
    'LANG',
    'C.UTF-8',
    ...Object.entries({ ...LIBRARY_ENV, ...SANDBOX_CACHE_ENV }).flatMap(([name, value]) => ['--setenv', name, value]),
    '--',
  ];
  return {
    file: spec.helpers.setpriv,
    args: [...setpriv.slice(1), ...prlimit, ...sandbox, ...pythonArgv(spec.python, SANDBOX_SCRIPT)],
    codeVia: 'fd3',
    // bwrap changes into /work itself; "/" is reachable for any uid the chain drops to.
    cwd: '/',
    env,
  };
}

const SYSTEM_DIR_NAMES = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/**
 * /bin, /lib… as the host has them: symlinks into /usr on merged-/usr systems (Debian, Ubuntu),
 * real directories elsewhere (Alpine keeps its dynamic loader in /lib).
 */
export async function systemDirs(): Promise<SystemDir[]> {
  const dirs: SystemDir[] = [];
  for (const dir of SYSTEM_DIR_NAMES) {
    const info = await lstat(dir).catch(() => undefined);
    if (info?.isSymbolicLink()) dirs.push({ path: dir, symlinkTo: await readlink(dir) });
    else if (info?.isDirectory()) dirs.push({ path: dir });
  }
  return dirs;
}

/** The absolute path of an executable: `name` itself when it has a slash, else found on PATH. */
export async function findExecutable(name: string, searchPath = process.env.PATH ?? ''): Promise<string | undefined> {
  const candidates = name.includes('/')
    ? [path.resolve(name)]
    : [...searchPath.split(':'), ...SAFE_PATH.split(':')].filter((dir) => path.isAbsolute(dir)).map((dir) => path.join(dir, name));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // Not here; try the next directory.
    }
  }
  return undefined;
}
