/**
 * Whether Python can be run here, decided by running a tiny program through the exact chain real
 * runs use: any missing piece (bwrap, util-linux, Python, user namespaces) shows up as a
 * reason an operator can act on, instead of as a failing tool call later.
 */
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findExecutable, type HelperPaths, type SandboxMode } from './command.js';
import { executePython } from './python.js';
import { errorMessage } from '../../text.js';

export const DEFAULT_PYTHON = '/usr/bin/python3';

export interface DetectOptions {
  mode?: SandboxMode;
  /** Interpreter path (default /usr/bin/python3: a pyenv shim on PATH would not work inside). */
  python?: string;
  /** Helper names or paths; names are looked up on PATH. */
  bwrap?: string;
  prlimit?: string;
  setpriv?: string;
  /** How long the probe may take; the first start of Python on a cold disk can be slow. */
  timeoutMs?: number;
}

export type SandboxStatus =
  | {
      available: true;
      mode: SandboxMode;
      python: string;
      pythonVersion: string;
      helpers: HelperPaths;
      /** Which of OPTIONAL_PACKAGES the interpreter has (looked up, not imported). */
      packages: string[];
    }
  | { available: false; mode: SandboxMode; reason: string };

/** Packages worth telling the model about when they are installed (Debian: python3-matplotlib). */
export const OPTIONAL_PACKAGES = ['numpy', 'matplotlib'] as const;
const PROBE_CODE = [
  'import sys, importlib.util',
  `print(sys.version.split()[0], *[name for name in ${JSON.stringify(OPTIONAL_PACKAGES)} if importlib.util.find_spec(name)])`,
].join('\n');
const MAX_QUOTED_STDERR = 300;

function namespaceHint(): string {
  return (
    'unprivileged user namespaces are blocked here. In Docker the default seccomp profile (and AppArmor profile) ' +
    'forbid them: run the container with --security-opt seccomp=unconfined --security-opt apparmor=unconfined ' +
    '(or a seccomp profile that allows clone/unshare with CLONE_NEWUSER). On a host, check the sysctls ' +
    'user.max_user_namespaces (must be > 0), kernel.unprivileged_userns_clone (Debian, must be 1) and ' +
    'kernel.apparmor_restrict_unprivileged_userns (Ubuntu 23.10+, must be 0)'
  );
}

/** Turns a failed probe into the reason an operator reads. */
export function explainProbeFailure(stderr: string, exitCode: number | null, timedOut: boolean, probeSeconds: number): string {
  const firstLines = stderr.trim().split('\n').slice(0, 3).join(' ').slice(0, MAX_QUOTED_STDERR);
  if (timedOut) return `the sandbox probe did not finish within ${probeSeconds} s`;
  if (stderr.includes("Can't find source path")) {
    // As root the code works on a copy of the workspace in the temp directory, as nobody.
    return `bubblewrap cannot reach the directory it shares with the code (${firstLines}): as root, TMPDIR (${os.tmpdir()}) and every directory above it must be searchable by others (like /tmp)`;
  }
  if (/^bwrap: .*(namespace|uid map|setting up uid|Operation not permitted|Permission denied|make \/ slave)/im.test(stderr)) {
    return `bubblewrap cannot set up its sandbox (${firstLines}): ${namespaceHint()}`;
  }
  const status = exitCode === null ? 'it was killed' : `exit status ${exitCode}`;
  return `the sandbox probe failed (${status})${firstLines === '' ? '' : `: ${firstLines}`}`;
}

/** Resolves the helpers and Python and probes the chain once. Never throws. */
export async function detectSandbox(options: DetectOptions = {}): Promise<SandboxStatus> {
  const mode = options.mode ?? 'sandbox';
  const unavailable = (reason: string): SandboxStatus => ({ available: false, mode, reason });
  if (process.platform !== 'linux') return unavailable(`run_code needs Linux (bubblewrap and util-linux); this is ${process.platform}`);

  const setpriv = await findExecutable(options.setpriv ?? 'setpriv');
  const prlimit = await findExecutable(options.prlimit ?? 'prlimit');
  if (setpriv === undefined || prlimit === undefined) {
    const missing = [setpriv === undefined ? 'setpriv' : '', prlimit === undefined ? 'prlimit' : ''].filter((n) => n !== '').join(' and ');
    return unavailable(`${missing} not found: install util-linux (Debian: apt-get install util-linux)`);
  }
  const helpers: HelperPaths = { setpriv, prlimit };
  if (mode === 'sandbox') {
    const bwrap = await findExecutable(options.bwrap ?? 'bwrap');
    if (bwrap === undefined) {
      return unavailable(`bubblewrap (bwrap) is not installed: install Debian's bubblewrap package (apt-get install bubblewrap)`);
    }
    helpers.bwrap = bwrap;
  }

  const python = options.python ?? DEFAULT_PYTHON;
  if (!path.isAbsolute(python)) return unavailable(`the Python path must be absolute (got ${JSON.stringify(python)})`);
  if ((await findExecutable(python)) === undefined) {
    return unavailable(`no Python interpreter at ${python}: install python3 (apt-get install python3) or set CAIRN_PYTHON to its path`);
  }
  const realPython = await realpath(python);
  if (mode === 'sandbox' && !realPython.startsWith('/usr/')) {
    return unavailable(
      `${python} resolves to ${realPython}, outside /usr, which is all the sandbox exposes: use a Python installed under /usr (e.g. Debian's python3)`,
    );
  }

  const timeoutMs = options.timeoutMs ?? 15_000;
  let scratch: string | undefined;
  try {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'cairn-sandbox-probe-'));
    const result = await executePython({
      mode,
      helpers,
      python,
      code: PROBE_CODE,
      workspaceDir: scratch,
      timeoutMs,
      memoryBytes: 256 * 1024 * 1024,
      cpuSeconds: Math.ceil(timeoutMs / 1000),
      maxProcesses: 8,
      maxFileBytes: 1024 * 1024,
    });
    const [version = '', ...found] = result.stdout.head.toString('utf8').trim().split(/\s+/);
    const packages = OPTIONAL_PACKAGES.filter((name) => found.includes(name));
    if (result.exitCode === 0 && /^\d+\.\d+/.test(version)) return { available: true, mode, python, pythonVersion: version, helpers, packages };
    return unavailable(explainProbeFailure(result.stderr.head.toString('utf8'), result.exitCode, result.timedOut, timeoutMs / 1000));
  } catch (err) {
    return unavailable(`the sandbox probe could not run: ${errorMessage(err)}`);
  } finally {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  }
}
