/**
 * run_code: runs a Python program the model wrote, in a bubblewrap sandbox (see sandbox/), and
 * shows it the exit status, stdout and stderr. Where no sandbox can be set up the tool is not
 * offered at all, unless the operator explicitly opts out of isolation ("unsandboxed").
 */
import os from 'node:os';
import type { Logger } from 'pino';
import { z } from 'zod';
import { formatBytes } from './builtin/files.js';
import { defineTool } from './define.js';
import { findExecutable, NOBODY, SANDBOX_WORKDIR, type HelperPaths, type SandboxMode } from './sandbox/command.js';
import { DEFAULT_PYTHON, detectSandbox, type DetectOptions, type SandboxStatus } from './sandbox/detect.js';
import { renderStream } from './sandbox/output.js';
import { codeIdentity, executePython, type ExecutionResult } from './sandbox/python.js';
import type { Tool } from './types.js';

export { DEFAULT_PYTHON, detectSandbox, type SandboxStatus } from './sandbox/detect.js';
export type { SandboxMode } from './sandbox/command.js';

export interface RunCodeOptions {
  mode: SandboxMode;
  /** Absolute path of the interpreter; in sandbox mode it must live under /usr. */
  python: string;
  /** Wall-clock limit per call, and the CPU time limit; calls may ask for less. */
  timeoutMs: number;
  /** Address space of each process (RLIMIT_AS). */
  memoryBytes: number;
  /** Processes and threads the program may create (RLIMIT_NPROC above what its uid already has). */
  maxProcesses: number;
  /** Largest file the program may write (RLIMIT_FSIZE). */
  maxFileBytes: number;
  /** Paths of setpriv, prlimit and bwrap; looked up on PATH when omitted. */
  helpers?: HelperPaths;
  /** Shown to the model in the description, e.g. "3.11.2". */
  pythonVersion?: string;
  /** Preinstalled packages worth naming in the description (detectSandbox finds them). */
  packages?: readonly string[];
}

export const DEFAULT_RUN_CODE_OPTIONS = {
  mode: 'sandbox',
  python: DEFAULT_PYTHON,
  timeoutMs: 30_000,
  memoryBytes: 512 * 1024 * 1024,
  maxProcesses: 32,
  maxFileBytes: 10 * 1024 * 1024,
} as const satisfies RunCodeOptions;

/** Longest program accepted, in characters. */
export const MAX_CODE_CHARS = 20_000;
/** Characters of each stream shown; together they stay under the registry's 8,000-character cap. */
const STDOUT_CHARS = 4_000;
const STDERR_CHARS = 2_500;
const WORKSPACE_NOTE_CHARS = 800;

const optionsSchema = z.strictObject({
  mode: z.enum(['sandbox', 'unsandboxed']),
  python: z.string().refine((p) => p.startsWith('/'), 'must be an absolute path'),
  timeoutMs: z.number().int().min(1_000).max(600_000),
  // Python itself needs some room; below this every program would fail at startup.
  memoryBytes: z.number().int().min(64 * 1024 * 1024),
  maxProcesses: z.number().int().min(1).max(10_000),
  maxFileBytes: z.number().int().positive(),
  helpers: z.object({ setpriv: z.string(), prlimit: z.string(), bwrap: z.string().optional() }).optional(),
  pythonVersion: z.string().optional(),
  packages: z.array(z.string()).readonly().optional(),
});

/** Fills in defaults; throws on an out-of-range option (a configuration mistake). */
export function resolveRunCodeOptions(options: Partial<RunCodeOptions> = {}): RunCodeOptions {
  // An option given as undefined (e.g. an unset setting) keeps its default.
  const given = Object.fromEntries(Object.entries(options as Record<string, unknown>).filter(([, value]) => value !== undefined));
  const parsed = optionsSchema.safeParse({ ...DEFAULT_RUN_CODE_OPTIONS, ...given });
  if (!parsed.success) throw new Error(`invalid run_code options: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

async function resolveHelpers(options: RunCodeOptions): Promise<HelperPaths> {
  if (options.helpers) return options.helpers;
  const [setpriv, prlimit, bwrap] = await Promise.all(['setpriv', 'prlimit', 'bwrap'].map((name) => findExecutable(name)));
  if (setpriv === undefined || prlimit === undefined) throw new Error('run_code is unavailable: setpriv or prlimit (util-linux) is not installed');
  if (options.mode === 'sandbox' && bwrap === undefined) throw new Error('run_code is unavailable: bubblewrap (bwrap) is not installed');
  return { setpriv, prlimit, ...(bwrap === undefined ? {} : { bwrap }) };
}

const SIGNAL_CAUSES: Record<string, (limits: { cpuSeconds: number; maxFileBytes: number }) => string> = {
  SIGXCPU: ({ cpuSeconds }) => `: the CPU time limit of ${cpuSeconds} s was exceeded`,
  SIGXFSZ: ({ maxFileBytes }) => `: a file grew past the ${formatBytes(maxFileBytes)} limit`,
};

function statusLine(result: ExecutionResult, limits: { seconds: number; maxFileBytes: number }): string {
  if (result.timedOut) return `killed: timed out after ${limits.seconds} s (wall-clock limit)`;
  if (result.signal !== null) {
    const cause = SIGNAL_CAUSES[result.signal]?.({ cpuSeconds: limits.seconds, maxFileBytes: limits.maxFileBytes }) ?? '';
    return `killed by signal ${result.signal}${cause}`;
  }
  return `exit status: ${result.exitCode ?? 'unknown'}`;
}

/**
 * A helper of the chain (not the program) failed: it printed "bwrap: …" and the program never
 * ran. The program could print the same to fool this, but it would only be fooling itself.
 */
function setupFailure(result: ExecutionResult): string | undefined {
  if (result.exitCode === 0 || result.stdout.totalBytes > 0) return undefined;
  const line = result.stderr.head.toString('utf8').split('\n')[0] ?? '';
  if (!/^(bwrap|setpriv|prlimit): /.test(line)) return undefined;
  if (line.includes("Can't find source path")) {
    // As root the bound directory is a stage under the temp directory (sandbox/staging.ts).
    const where = codeIdentity() ? `the temporary directory (${os.tmpdir()}, from TMPDIR)` : 'the workspace directory';
    return `the sandbox cannot reach ${where} (${line}); every directory above it must be searchable by the user the code runs as`;
  }
  return `the sandbox could not start (${line})`;
}

/** What did not make it from the sandbox's copy of the workspace back into it, when anything. */
function workspaceSection(notes: readonly string[]): string[] {
  if (notes.length === 0) return [];
  const text = notes.join('\n');
  return ['--- workspace: left out ---', text.length <= WORKSPACE_NOTE_CHARS ? text : `${text.slice(0, WORKSPACE_NOTE_CHARS)} …`];
}

export function runCodeTool(given: Partial<RunCodeOptions> = {}): Tool {
  const options = resolveRunCodeOptions(given);
  const maxSeconds = Math.floor(options.timeoutMs / 1000);
  const python = `Python${options.pythonVersion === undefined ? '' : ` ${options.pythonVersion}`}`;
  const limits =
    `Limits: ${maxSeconds} s of wall-clock and CPU time (timeoutSeconds can lower it), ${formatBytes(options.memoryBytes)} of memory, ` +
    `${options.maxProcesses} processes, ${formatBytes(options.maxFileBytes)} per file.`;
  const where =
    options.mode === 'sandbox'
      ? `in an isolated sandbox. It starts in ${SANDBOX_WORKDIR}, which is your workspace: files it writes there can be read with read_file, ` +
        'and your workspace files can be read by it. It has no network access and no other host files; only the standard library and ' +
        'preinstalled packages are available (pip cannot install anything).'
      : 'on the host with resource limits. It starts in your workspace directory: files it writes there can be read with read_file.';
  const packages = options.packages ?? [];
  const installed = packages.length === 0 ? '' : ` Preinstalled: ${packages.join(', ')}.`;
  const charts = packages.includes('matplotlib')
    ? ' For a chart, draw it with matplotlib (no display: save, never show) into the workspace, e.g. ' +
      'plt.savefig("chart.png", dpi=100, bbox_inches="tight"), then send it to the user with the attach_file tool (path "chart.png").'
    : '';
  let helpers: Promise<HelperPaths> | undefined;

  return defineTool({
    name: 'run_code',
    description:
      `Run a ${python} program ${where}${installed}${charts} ${limits} stdin is empty. Returns the exit status, then stdout and stderr; ` +
      'long output is cut to its beginning and end, so print what you need to see.',
    input: z.strictObject({
      code: z.string().min(1).max(MAX_CODE_CHARS).describe('The complete Python program to run, e.g. "print(sum(range(10)))".'),
      timeoutSeconds: z
        .number()
        .int()
        .min(1)
        .max(maxSeconds)
        .optional()
        .describe(`Stop the program after this many seconds (default and upper limit ${maxSeconds}).`),
    }),
    risk: 'high',
    // Outside the sandbox a program has the network: the untrusted-content guard asks about it.
    ...(options.mode === 'sandbox' ? {} : { egress: 'opaque' as const }),
    async run(args, context) {
      // Not cached on failure: installing the missing helper should not need a restart.
      helpers ??= resolveHelpers(options).catch((err: unknown) => {
        helpers = undefined;
        throw err;
      });
      const seconds = args.timeoutSeconds ?? maxSeconds;
      const result = await executePython({
        mode: options.mode,
        helpers: await helpers,
        python: options.python,
        code: args.code,
        workspaceDir: context.workspaceDir,
        timeoutMs: seconds * 1000,
        memoryBytes: options.memoryBytes,
        cpuSeconds: seconds,
        maxProcesses: options.maxProcesses,
        maxFileBytes: options.maxFileBytes,
        signal: context.signal,
      });
      if (result.aborted) throw new Error('run_code was cancelled because the run was aborted');
      const failure = setupFailure(result);
      if (failure !== undefined) {
        context.log.warn({ tool: 'run_code', stderr: result.stderr.head.toString('utf8').slice(0, 500) }, 'run_code sandbox failed to start');
        throw new Error(failure);
      }
      context.log.debug({ tool: 'run_code', durationMs: result.durationMs, exitCode: result.exitCode, signal: result.signal }, 'run_code finished');
      return [
        statusLine(result, { seconds, maxFileBytes: options.maxFileBytes }),
        '--- stdout ---',
        renderStream('stdout', result.stdout, STDOUT_CHARS),
        '--- stderr ---',
        renderStream('stderr', result.stderr, STDERR_CHARS),
        ...workspaceSection(result.workspaceNotes),
      ].join('\n');
    },
  });
}

/** How the operator configures the tool (CAIRN_RUN_CODE). */
export type RunCodeSetting = 'auto' | 'off' | 'unsandboxed';

export type CodeToolSettings = Partial<Omit<RunCodeOptions, 'mode' | 'helpers' | 'pythonVersion'>> &
  Pick<DetectOptions, 'bwrap' | 'prlimit' | 'setpriv'>;

const detections = new Map<string, Promise<SandboxStatus>>();
const reported = new Set<string>();

/**
 * The run_code tool if it can be offered under `setting`, else null. The environment is probed
 * once per process and configuration, and the outcome logged once: a warning when the tool is
 * left out or runs without isolation.
 */
export async function codeToolFor(setting: RunCodeSetting, log: Logger, settings: CodeToolSettings = {}): Promise<Tool | null> {
  const { bwrap, prlimit, setpriv, ...toolOptions } = settings;
  const python = toolOptions.python ?? DEFAULT_PYTHON;
  const mode: SandboxMode = setting === 'unsandboxed' ? 'unsandboxed' : 'sandbox';
  const key = JSON.stringify([setting, python, bwrap, prlimit, setpriv]);
  const firstTime = !reported.has(key);
  reported.add(key);
  if (setting === 'off') {
    if (firstTime) log.info('run_code is off (CAIRN_RUN_CODE=off)');
    return null;
  }

  let detection = detections.get(key);
  if (!detection) {
    detection = detectSandbox({ mode, python, bwrap, prlimit, setpriv });
    detections.set(key, detection);
  }
  const status = await detection;
  if (!status.available) {
    const advice =
      setting === 'auto'
        ? ' Install what is missing, set CAIRN_RUN_CODE=off to silence this, or CAIRN_RUN_CODE=unsandboxed to run code without isolation.'
        : '';
    if (firstTime) log.warn({ reason: status.reason }, `run_code is not offered: ${status.reason}.${advice}`);
    return null;
  }
  if (firstTime && mode === 'unsandboxed') {
    const who = codeIdentity() ? `uid ${NOBODY.uid}` : 'the bot user';
    log.warn(
      `run_code runs Python WITHOUT a sandbox (CAIRN_RUN_CODE=unsandboxed): code runs on this host as ${who}, with only resource limits and a timer; it can read what that user can read (as the bot's own user: the bot's environment, with its tokens, and the memory database) and use the network`,
    );
  } else if (firstTime) {
    log.info({ python: status.python, version: status.pythonVersion }, 'run_code is available (Python in a bubblewrap sandbox)');
  }
  return runCodeTool({ ...toolOptions, mode, python, helpers: status.helpers, pythonVersion: status.pythonVersion, packages: status.packages });
}
