/**
 * Runs extract-child.ts in its own process for one document, and stops it at a deadline, on
 * cancel, or when its resident memory passes a cap. A thread's resourceLimits bound only the V8
 * heap; inflating readers (pdf.js FlateDecode, zip) allocate outside it, so the whole process is
 * what is measured (Linux: VmRSS in /proc/<pid>/status, proc(5)) and killed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import process from 'node:process';
import { extractReplySchema, type ExtractReply, type ExtractRequest } from './extract-protocol.js';

export type RunOutcome = ExtractReply | 'timeout' | 'memory' | 'crashed' | 'cancelled';

export interface RunLimits {
  timeoutMs: number;
  /** Resident memory of the child, heap and everything else together. */
  maxMemoryBytes: number;
  signal?: AbortSignal | undefined;
}

const RSS_POLL_MS = 100;

// The sources are TypeScript run through tsx: the child loads tsx's loader (the one `node --import tsx`
// uses, by absolute URL so it resolves wherever the bot runs from) before its module.
const tsxLoader = import.meta.resolve('tsx');
const childModule = new URL('./extract-child.ts', import.meta.url);

/** Bytes resident for `pid`, or undefined where /proc is not there to say (not Linux) or it exited. */
async function residentBytes(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** The child sees none of the bot's environment (tokens, keys): only where temporary files go. */
function childEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['TMPDIR', 'TMP', 'TEMP', 'SystemRoot']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

function start(maxMemoryBytes: number): ChildProcess {
  const heapMb = Math.max(64, Math.floor(maxMemoryBytes / (1024 * 1024)));
  return fork(childModule, [], {
    execArgv: ['--import', tsxLoader, `--max-old-space-size=${heapMb}`],
    env: childEnvironment(),
    // Its output (pdf.js warnings) is not wanted.
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    serialization: 'advanced',
  });
}

/** Reads one document in a fresh child process; the child is gone (killed) by the time this settles. */
export function runExtraction(request: ExtractRequest, limits: RunLimits): Promise<RunOutcome> {
  return new Promise((resolve) => {
    const { signal } = limits;
    if (signal?.aborted === true) {
      resolve('cancelled');
      return;
    }
    const child = start(limits.maxMemoryBytes);
    let settled = false;
    const finish = (result: RunOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(watchdog);
      signal?.removeEventListener('abort', onAbort);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      resolve(result);
    };
    const onAbort = () => { finish('cancelled'); };
    const timer = setTimeout(() => { finish('timeout'); }, limits.timeoutMs);
    const watchdog = setInterval(() => {
      const pid = child.pid;
      if (pid === undefined) return;
      void residentBytes(pid).then((bytes) => {
        if (bytes !== undefined && bytes > limits.maxMemoryBytes) finish('memory');
      });
    }, RSS_POLL_MS);
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('message', (message: unknown) => {
      const reply = extractReplySchema.safeParse(message);
      finish(reply.success ? reply.data : 'crashed');
    });
    child.on('error', () => { finish('crashed'); });
    // 'close', not 'exit': it comes after the IPC channel has delivered the last reply. V8 aborts a
    // process past --max-old-space-size (SIGABRT): that is memory too, not a crash.
    child.on('close', (_code, exitSignal) => { finish(exitSignal === 'SIGABRT' ? 'memory' : 'crashed'); });
    child.send(request, (error) => { if (error !== null) finish('crashed'); });
  });
}
