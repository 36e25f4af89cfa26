/**
 * run_code against the real sandbox on this machine: normal programs work, and escape attempts
 * (host files, the network, fork bombs, memory, endless loops, links out of the workspace) are
 * contained. Sandbox tests skip where bubblewrap cannot run, except in CI, which must have it.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, realpath, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { builtinTools } from '../../src/tools/builtin/index.js';
import { codeToolFor, detectSandbox, runCodeTool, type RunCodeOptions } from '../../src/tools/code.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import type { Tool, ToolOutcome } from '../../src/tools/types.js';
import { capturingLogger, tempDir, toolCall, toolContext, tryEachTargetCode } from './helpers.js';

const sandbox = await detectSandbox();
const unsandboxed = await detectSandbox({ mode: 'unsandboxed' });
const inCi = process.env.CI === 'true';
const isRoot = process.getuid?.() === 0;
const repoRoot = path.resolve(import.meta.dirname, '../..');

let ws = '';
let cleanup: () => Promise<void> = () => Promise.resolve();
beforeEach(async () => {
  ({ dir: ws, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

/** A process name unique to one test, so runs by other test processes on the machine do not count. */
function uniqueName(): string {
  return `cairn${randomBytes(4).toString('hex')}`;
}

/** Prefix for a program whose processes (and their forks) carry `name` in /proc/PID/comm. */
function nameProcesses(name: string): string {
  return `import ctypes\nctypes.CDLL(None).prctl(15, b"${name}", 0, 0, 0)\n`;
}

/** Processes whose name or command line contains `marker`. */
async function processesMatching(marker: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (comm.includes(marker) || cmdline.includes(marker)) found.push(`${pid}: ${comm.trim()} ${cmdline.replaceAll('\0', ' ')}`);
  }
  return found;
}

/** Waits (a little) for the kernel to finish tearing a killed sandbox down, then lists leftovers. */
async function leftovers(marker: string): Promise<string[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const found = await processesMatching(marker);
    if (found.length === 0) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return processesMatching(marker);
}

function runner(tools: Tool[]): (name: string, args: unknown) => Promise<ToolOutcome> {
  const registry = new ToolRegistry(tools, { maxOutputChars: 100_000 });
  return (name, args) => registry.run(toolCall(name, args), toolContext(ws));
}

function sandboxed(options: Partial<RunCodeOptions> = {}): (code: string, timeoutSeconds?: number) => Promise<ToolOutcome> {
  if (!sandbox.available) throw new Error('no sandbox');
  const run = runner([runCodeTool({ helpers: sandbox.helpers, pythonVersion: sandbox.pythonVersion, ...options })]);
  return (code, timeoutSeconds) => run('run_code', { code, timeoutSeconds });
}

describe('sandbox detection', () => {
  it.runIf(inCi)('finds a working sandbox in CI (bubblewrap and python3 must be installed)', () => {
    expect(sandbox).toMatchObject({ available: true });
  });

  it('says to install bubblewrap when bwrap is missing', async () => {
    const status = await detectSandbox({ bwrap: '/nonexistent/bwrap' });
    expect(status).toMatchObject({ available: false });
    if (!status.available) expect(status.reason).toContain("install Debian's bubblewrap package");
  });

  it('names the missing Python and the setting to fix it', async () => {
    const status = await detectSandbox({ python: '/nonexistent/python3' });
    expect(status).toMatchObject({ available: false });
    if (!status.available) expect(status.reason).toMatch(/no Python interpreter at \/nonexistent\/python3.*CAIRN_PYTHON/);
  });

  it('leaves the tool out and warns once when the sandbox is missing', async () => {
    const { log, lines } = capturingLogger();
    expect(await codeToolFor('auto', log, { bwrap: '/nonexistent/bwrap-once' })).toBeNull();
    expect(await codeToolFor('auto', log, { bwrap: '/nonexistent/bwrap-once' })).toBeNull();
    const warnings = lines.filter((line) => line.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(/run_code is not offered: bubblewrap .*CAIRN_RUN_CODE=unsandboxed/);
  });

  it('offers nothing when turned off', async () => {
    expect(await codeToolFor('off', capturingLogger().log)).toBeNull();
  });

  it.runIf(sandbox.available)('offers a high-risk tool that states its limits', async () => {
    const tool = await codeToolFor('auto', capturingLogger().log, { timeoutMs: 20_000 });
    expect(tool).toMatchObject({ name: 'run_code', risk: 'high' });
    expect(tool?.description).toMatch(/Python 3\.\d+.*isolated sandbox.*no network access.*20 s.*512 MB of memory.*32 processes/s);
  });
});

describe.skipIf(!sandbox.available)('run_code in the sandbox: normal programs', () => {
  it('returns the exit status, stdout and stderr', async () => {
    const outcome = await sandboxed()('import sys\nprint("to stdout")\nprint("to stderr", file=sys.stderr)\nsys.exit(3)');
    expect(outcome).toMatchObject({ ok: true, content: 'exit status: 3\n--- stdout ---\nto stdout\n--- stderr ---\nto stderr' });
  });

  it('reports a syntax error with its exit status and location', async () => {
    const outcome = await sandboxed()('print("fine")\nprint(1');
    expect(outcome.content).toMatch(/^exit status: 1\n--- stdout ---\n\(empty\)\n--- stderr ---\n/);
    expect(outcome.content).toContain('line 2');
    expect(outcome.content).toContain('SyntaxError');
  });

  it('shares the workspace: files it writes are visible to the file tools, and it sees theirs', async () => {
    const run = runner([...builtinTools(), runCodeTool({ helpers: sandbox.available ? sandbox.helpers : undefined })]);
    await writeFile(path.join(ws, 'input.txt'), 'from the host');
    const code = [
      'import os',
      'print(os.getcwd(), open("input.txt").read())',
      'os.makedirs("out", exist_ok=True)',
      'open("out/result.txt", "w").write("computed: " + str(6 * 7))',
    ].join('\n');
    expect((await run('run_code', { code })).content).toContain('/work from the host');
    expect(await readFile(path.join(ws, 'out/result.txt'), 'utf8')).toBe('computed: 42');
    expect(await run('read_file', { path: 'out/result.txt' })).toMatchObject({ ok: true, content: 'computed: 42' });
  });

  it('cuts long output to its beginning and end, with a note', async () => {
    const outcome = await sandboxed()('import sys\nprint("START" + "x" * 1_000_000 + "END")\nprint("e" * 100_000, file=sys.stderr)');
    expect(outcome.content).toMatch(/^exit status: 0\n--- stdout ---\nSTARTx+\n\[… stdout truncated: it was 976\.6 KB; showing the first 3000 and the last 1000 characters …\]\nx+END\n--- stderr ---/);
    expect(outcome.content).toContain('[… stderr truncated: it was 97.7 KB;');
    expect(outcome.content.length).toBeLessThan(8_000);
  });

  it('keeps what was printed before a timeout', async () => {
    const outcome = await sandboxed()('import time\nprint("started")\ntime.sleep(600)', 1);
    expect(outcome).toMatchObject({ ok: true, content: 'killed: timed out after 1 s (wall-clock limit)\n--- stdout ---\nstarted\n--- stderr ---\n(empty)' });
  });

  it('refuses a timeout above the configured maximum', async () => {
    const outcome = await sandboxed({ timeoutMs: 10_000 })('print(1)', 11);
    expect(outcome).toMatchObject({ ok: false, error: { kind: 'invalid_arguments' } });
    expect(outcome.content).toContain('timeoutSeconds');
  });

  it.runIf(isRoot)('runs as nobody on a copy of the workspace when the bot is root: no special bits come back', async () => {
    const before = (await stat(ws)).mode & 0o7777;
    const code = [
      'import os',
      'print(os.getuid(), os.getgid())',
      'open("mine.txt", "w").write("x")',
      // Bits that would be live on the host once the sandbox (and its nosuid mount) is gone.
      'os.chmod("mine.txt", 0o4777)',
      'os.mkdir("open")',
      'os.chmod("open", 0o2777)',
      'os.symlink("/etc/passwd", "link")',
      'os.chmod("/work", 0o2777)',
    ].join('\n');
    const outcome = await sandboxed()(code);
    expect(outcome.content).toContain('65534 65534');
    expect(outcome.content).toContain('"link": a symbolic link: not copied back');
    const workspace = await stat(ws);
    expect(workspace.uid).toBe(0);
    expect(workspace.mode & 0o7777).toBe(before);
    const file = await stat(path.join(ws, 'mine.txt'));
    expect(file.uid).toBe(0);
    // Executable it stays; setuid and writable by all it does not.
    expect(file.mode & 0o7002).toBe(0);
    expect(file.mode & 0o100).toBe(0o100);
    expect((await stat(path.join(ws, 'open'))).mode & 0o7002).toBe(0);
    expect(await lstat(path.join(ws, 'link')).catch(() => 'absent')).toBe('absent');
    expect((await stat('/etc/passwd')).mode & 0o7777).toBe(0o644);
  });
});

describe.skipIf(!sandbox.available)('run_code in the sandbox: escape attempts are contained', () => {
  it('cannot read host files, the repository, files beside the workspace or the bot environment', async () => {
    const { dir: outside, cleanup: removeOutside } = await tempDir();
    try {
      await writeFile(path.join(outside, 'secret.txt'), 'TOP SECRET');
      await mkdir(path.join(ws, 'sub'));
      process.env.CAIRN_TEST_SECRET = 'ENV SECRET';
      const targets = ['/etc/passwd', '/etc/shadow', '/etc/hostname', '/root', `${repoRoot}/package.json`, path.join(outside, 'secret.txt'), '/proc/1/root/etc/passwd', '/work/../etc/passwd'];
      const code = tryEachTargetCode(targets, '{"results": results, "root": sorted(os.listdir("/")), "etc": sorted(os.listdir("/etc")), "env": dict(os.environ)}');
      const outcome = await sandboxed()(code);
      const report = JSON.parse(outcome.content.split('\n')[2] ?? '') as { results: Record<string, string>; root: string[]; etc: string[]; env: Record<string, string> };
      for (const target of targets) expect(report.results[target], target).toMatch(/^(FileNotFoundError|PermissionError)$/);
      // Only what the sandbox builds: no /etc, /home, /root, /var or /app.
      const allowed = ['bin', 'code', 'dev', 'etc', 'lib', 'lib32', 'lib64', 'libx32', 'proc', 'sbin', 'tmp', 'usr', 'var', 'work'];
      expect(report.root.filter((entry) => !allowed.includes(entry))).toEqual([]);
      // Of /etc, only what preinstalled packages need (BLAS alternatives, matplotlib's rc, fontconfig).
      expect(report.etc.filter((entry) => !['alternatives', 'fonts', 'matplotlibrc'].includes(entry))).toEqual([]);
      expect(Object.keys(report.env).sort()).toEqual(['HOME', 'LANG', 'MPLBACKEND', 'MPLCONFIGDIR', 'OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'PATH', 'PWD', 'TMPDIR', 'XDG_CACHE_HOME']);
      expect(outcome.content).not.toMatch(/TOP SECRET|ENV SECRET|root:x:0|"name": "cairn"/);
    } finally {
      delete process.env.CAIRN_TEST_SECRET;
      await removeOutside();
    }
  });

  it('cannot reach a TCP server listening on 127.0.0.1 on the host', async () => {
    let connections = 0;
    const server = net.createServer((socket) => {
      connections += 1;
      socket.on('error', () => undefined);
      socket.end('HELLO FROM THE HOST\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no TCP address');
      // The server is reachable from the host itself: the sandbox is what stops the program.
      await new Promise<void>((resolve, reject) => {
        const probe = net.connect(address.port, '127.0.0.1', () => {
          probe.destroy();
          resolve();
        });
        probe.on('error', reject);
      });
      const code = [
        'import socket',
        'try:',
        `    with socket.create_connection(("127.0.0.1", ${address.port}), timeout=5) as s: print("CONNECTED", s.recv(100))`,
        'except OSError as error:',
        '    print("blocked:", type(error).__name__, error)',
      ].join('\n');
      const outcome = await sandboxed()(code);
      expect(outcome.content).toMatch(/--- stdout ---\nblocked: (ConnectionRefusedError|OSError)/);
      expect(outcome.content).not.toContain('HELLO FROM THE HOST');
      expect(connections).toBe(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('stops forking at the process limit', async () => {
    const name = uniqueName();
    const code = [
      nameProcesses(name),
      'import os, time',
      'children = 0',
      'for _ in range(1000):',
      '    try:',
      '        pid = os.fork()',
      '    except OSError as error:',
      '        print("fork failed:", error.strerror)',
      '        break',
      '    if pid == 0:',
      '        time.sleep(600)',
      '        os._exit(0)',
      '    children += 1',
      'print("children:", children)',
    ].join('\n');
    const outcome = await sandboxed({ maxProcesses: 16 })(code);
    expect(outcome.content).toContain('fork failed: Resource temporarily unavailable');
    const children = Number(/children: (\d+)/.exec(outcome.content)?.[1]);
    expect(children, outcome.content).toBeGreaterThan(0);
    // Not exactly 16: RLIMIT_NPROC counts the whole uid, so another sandbox on this machine
    // ending during the run leaves more room (sandbox-command.test.ts checks the limit given).
    expect(children, outcome.content).toBeLessThan(100);
    // The sleeping children die with the sandbox instead of lingering for ten minutes.
    expect(await leftovers(name)).toEqual([]);
  });

  it('kills a real fork bomb at the time limit and leaves no process behind', async () => {
    const name = uniqueName();
    const code = `${nameProcesses(name)}import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass`;
    const outcome = await sandboxed()(code, 2);
    expect(outcome.ok).toBe(true);
    expect(outcome.content).toMatch(/^killed/);
    expect(await leftovers(name)).toEqual([]);
  });

  it('does not let a detached background process outlive the run', async () => {
    const seconds = String(4_000 + Math.floor(Math.random() * 100_000));
    const code = `import subprocess\nsubprocess.Popen(["/usr/bin/sleep", "${seconds}"], start_new_session=True)\nprint("spawned")`;
    expect((await sandboxed()(code)).content).toContain('spawned');
    expect(await leftovers(`sleep\0${seconds}\0`)).toEqual([]);
  });

  it('cannot allocate 4 GB', async () => {
    const outcome = await sandboxed()('data = bytearray(4 * 1024 ** 3)\nprint("allocated", len(data))');
    expect(outcome.content).toMatch(/^exit status: 1\n/);
    expect(outcome.content).toContain('MemoryError');
    expect(outcome.content).not.toContain('allocated');
  });

  it('stops an infinite loop', async () => {
    const outcome = await sandboxed()('while True:\n    pass', 2);
    // The CPU limit and the wall-clock timer race; either may win.
    expect(outcome.content).toMatch(/^killed(: timed out after 2 s| by signal SIGXCPU: the CPU time limit of 2 s was exceeded)/);
  });

  it('cannot write a file past the size limit or fill the memory-backed directories', async () => {
    const code = [
      'for target, size in [("/work/big.bin", 11 * 1024 * 1024), ("/tmp/a.bin", 9 * 1024 * 1024), ("/x.bin", 1), ("/dev/x.bin", 1)]:',
      '    try:',
      '        with open(target, "wb") as f: f.write(b"x" * size)',
      '        print(target, "written")',
      '    except OSError as error:',
      '        print(target, error.strerror)',
    ].join('\n');
    const outcome = await sandboxed()(code);
    expect(outcome.content).toContain('/work/big.bin File too large');
    expect(outcome.content).toContain('/tmp/a.bin written');
    expect(outcome.content).toContain('/x.bin Read-only file system');
    expect(outcome.content).toContain('/dev/x.bin Read-only file system');
  });

  it('cannot leave a symbolic link that read_file follows out of the workspace', async () => {
    const run = runner([...builtinTools(), runCodeTool({ helpers: sandbox.available ? sandbox.helpers : undefined })]);
    const code = 'import os\nos.symlink("/etc/passwd", "passwd")\nos.symlink("../../../../../../etc/passwd", "relative")\nos.symlink("/etc", "etc")';
    expect((await run('run_code', { code })).content).toMatch(/^exit status: 0/);
    for (const target of ['passwd', 'relative', 'etc/passwd']) {
      const outcome = await run('read_file', { path: target });
      expect(outcome.ok, target).toBe(false);
      // As root the links stay in the sandbox's copy of the workspace; otherwise read_file refuses them.
      expect(outcome.content).toMatch(isRoot ? /not found|does not exist|no such/i : /symbolic link/);
      expect(outcome.content).not.toContain('root:');
    }
    if (!isRoot) expect((await run('list_files', {})).content).toContain('symlink  passwd (not followed)');
  });

  it('is killed when the run is aborted', async () => {
    if (!sandbox.available) return;
    const tool = runCodeTool({ helpers: sandbox.helpers, timeoutMs: 120_000 });
    const controller = new AbortController();
    const name = uniqueName();
    const code = `${nameProcesses(name)}import time\ntime.sleep(601)`;
    const pending = tool.run({ code }, toolContext(ws, { signal: controller.signal }));
    // Abort once the program is surely running (and named), not at some guessed moment.
    while ((await processesMatching(name)).length === 0) await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    await expect(pending).rejects.toThrow('cancelled');
    expect(await leftovers(name)).toEqual([]);
  });
});

describe.skipIf(!unsandboxed.available)('run_code unsandboxed (the explicit opt-out)', () => {
  function run(code: string, timeoutSeconds?: number): Promise<ToolOutcome> {
    const tool = runCodeTool({ mode: 'unsandboxed', helpers: unsandboxed.available ? unsandboxed.helpers : undefined });
    return runner([tool])('run_code', { code, timeoutSeconds });
  }

  it('runs in the workspace with the exit status and output', async () => {
    const outcome = await run('import os, sys\nopen("made.txt", "w").write("ok")\nprint(os.getcwd())\nsys.exit(2)');
    expect(outcome.content).toBe(`exit status: 2\n--- stdout ---\n${await realpath(ws)}\n--- stderr ---\n(empty)`);
    expect(await readFile(path.join(ws, 'made.txt'), 'utf8')).toBe('ok');
  });

  it('still enforces the timer and the memory limit', async () => {
    expect((await run('import time\ntime.sleep(600)', 1)).content).toMatch(/^killed: timed out after 1 s/);
    expect((await run('bytearray(4 * 1024 ** 3)')).content).toContain('MemoryError');
  });

  it('warns that it is not isolated', async () => {
    const { log, lines } = capturingLogger();
    expect(await codeToolFor('unsandboxed', log, { python: '/usr/bin/python3' })).not.toBeNull();
    expect(lines.find((line) => line.level === 40)?.msg).toMatch(/WITHOUT a sandbox/);
  });
});
