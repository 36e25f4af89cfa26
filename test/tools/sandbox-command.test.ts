/** The command line run_code builds: limits, identity and isolation flags, without running it. */
import { describe, expect, it } from 'vitest';
import { buildCommand, type CommandSpec } from '../../src/tools/sandbox/command.js';
import { renderStream, StreamCapture } from '../../src/tools/sandbox/output.js';

const spec: CommandSpec = {
  mode: 'sandbox',
  helpers: { setpriv: '/usr/bin/setpriv', prlimit: '/usr/bin/prlimit', bwrap: '/usr/bin/bwrap' },
  python: '/usr/bin/python3',
  workspace: '/srv/ws',
  limits: { memoryBytes: 536_870_912, cpuSeconds: 5, taskLimit: 40, maxFileBytes: 1_048_576 },
  runAs: { uid: 65534, gid: 65534 },
  systemDirs: [{ path: '/lib', symlinkTo: 'usr/lib' }, { path: '/lib64' }],
};

/** The arguments following `flag`, e.g. the value of "--bind". */
function after(args: string[], flag: string, count = 1): string[] {
  const index = args.indexOf(flag);
  return index === -1 ? [] : args.slice(index + 1, index + 1 + count);
}

describe('buildCommand', () => {
  it('drops to the given uid, applies every limit, then enters bubblewrap', () => {
    const command = buildCommand(spec);
    expect(command.file).toBe('/usr/bin/setpriv');
    expect(command.args.slice(0, 6)).toEqual(['--reuid=65534', '--regid=65534', '--clear-groups', '--pdeathsig', 'SIGKILL', '--']);
    expect(command.args).toEqual(
      expect.arrayContaining(['--as=536870912', '--cpu=5:6', '--nproc=40', '--fsize=1048576', '--core=0', '--nofile=64']),
    );
    expect(command.args.indexOf('/usr/bin/prlimit')).toBeLessThan(command.args.indexOf('/usr/bin/bwrap'));
    expect(command.args).toEqual(expect.arrayContaining(['--unshare-all', '--unshare-user', '--disable-userns', '--die-with-parent', '--clearenv']));
    expect(after(command.args, '--bind', 2)).toEqual(['/srv/ws', '/work']);
    expect(after(command.args, '--symlink', 2)).toEqual(['usr/lib', '/lib']);
    expect(after(command.args, '--ro-bind-data', 2)).toEqual(['3', '/code/main.py']);
    expect(command.args.at(-1)).toBe('/code/main.py');
    expect(command.codeVia).toBe('fd3');
    // Nothing of the host is bound besides /usr, the system dirs and the workspace.
    const sources = command.args.flatMap((arg, i) => (arg === '--ro-bind' || arg === '--bind' ? [command.args[i + 1]] : []));
    expect(sources).toEqual(['/usr', '/lib64', '/srv/ws']);
  });

  it('adds only read-only shared configuration, and sets up headless matplotlib with one BLAS thread', () => {
    const { args } = buildCommand(spec);
    const optional = args.flatMap((arg, i) => (arg === '--ro-bind-try' ? [`${args[i + 1]} -> ${args[i + 2]}`] : []));
    expect(optional).toEqual(['/etc/alternatives', '/etc/matplotlibrc', '/etc/fonts', '/var/cache/fontconfig'].map((p) => `${p} -> ${p}`));
    const env = Object.fromEntries(args.flatMap((arg, i): [string, string][] => (arg === '--setenv' ? [[args[i + 1] ?? '', args[i + 2] ?? '']] : [])));
    expect(env).toMatchObject({ MPLBACKEND: 'Agg', MPLCONFIGDIR: '/tmp/matplotlib', XDG_CACHE_HOME: '/tmp/cache', OPENBLAS_NUM_THREADS: '1' });
    // The caches live in the size-limited /tmp, never in the workspace.
    expect(after(args, '--tmpfs')).toEqual(['/dev/shm']);
    expect(args.slice(args.lastIndexOf('--tmpfs') + 1)[0]).toBe('/tmp');
  });

  it('runs as the bot user when no identity is given, and without bwrap when unsandboxed', () => {
    const command = buildCommand({ ...spec, mode: 'unsandboxed', runAs: undefined });
    expect(command.args.slice(0, 3)).toEqual(['--pdeathsig', 'SIGKILL', '--']);
    expect(command.args).not.toContain('/usr/bin/bwrap');
    expect(command.args.at(-1)).toBe('-');
    expect(command).toMatchObject({ codeVia: 'stdin', cwd: '/srv/ws', env: { HOME: '/srv/ws', MPLBACKEND: 'Agg', OPENBLAS_NUM_THREADS: '1' } });
  });
});

describe('renderStream', () => {
  it('keeps the head and the tail of a stream too long to keep, and says how long it was', () => {
    const capture = new StreamCapture(100, 20);
    for (let i = 0; i < 50; i++) capture.push(Buffer.from(`line ${String(i).padStart(2, '0')}\n`));
    const text = renderStream('stdout', capture.result(), 32);
    expect(text).toBe('line 00\nline 01\nline 02\n\n[… stdout truncated: it was 400 bytes; showing the first 24 and the last 8 characters …]\nline 49');
  });

  it('never starts the tail inside a UTF-8 character', () => {
    const capture = new StreamCapture(4, 5);
    capture.push(Buffer.from('abcdéééé'));
    expect(renderStream('stderr', capture.result(), 4)).toMatch(/^abc\n\[… stderr truncated: it was 12 bytes; showing the first 3 and the last 1 characters …\]\né$/);
  });
});
