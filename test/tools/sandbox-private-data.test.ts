/**
 * run_code when the bot runs as root and keeps its data directory private (mode 0700), as a
 * service holding people's memories should: the code runs as nobody, which cannot enter that
 * directory, so it works on a copy of the workspace that is copied back afterwards. Runs as root
 * with bubblewrap; skipped elsewhere, except in CI, which runs as root and must run it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { builtinTools } from '../../src/tools/builtin/index.js';
import { detectSandbox, runCodeTool } from '../../src/tools/code.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import type { ToolOutcome } from '../../src/tools/types.js';
import { toolCall, toolContext, tryEachTargetCode } from './helpers.js';

const sandbox = await detectSandbox();
const inCi = process.env.CI === 'true';
const isRoot = process.getuid?.() === 0;

let dataDir = '';
let runA = '';
let runB = '';

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'cairn-private-data-'));
  runA = path.join(dataDir, 'workspaces', 'run-a');
  runB = path.join(dataDir, 'workspaces', 'run-b');
  await mkdir(runA, { recursive: true });
  await mkdir(runB, { recursive: true });
  await writeFile(path.join(runB, 'secret.txt'), 'RUN B SECRET');
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

function tools(): ToolRegistry {
  if (!sandbox.available) throw new Error(`no sandbox: ${sandbox.reason}`);
  return new ToolRegistry([...builtinTools(), runCodeTool({ helpers: sandbox.helpers })], { maxOutputChars: 100_000 });
}

function run(workspace: string, name: string, args: unknown, signal?: AbortSignal): Promise<ToolOutcome> {
  return tools().run(toolCall(name, args), toolContext(workspace, signal === undefined ? {} : { signal }));
}

/** A file name no other test on this machine uses. */
function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** The stage a running call's code works in, found (as root) by a file the code wrote there. */
async function stageHolding(fileName: string): Promise<string | undefined> {
  for (const parent of (await readdir(os.tmpdir())).filter((name) => name.startsWith('cairn-run-code-'))) {
    for (const stage of await readdir(path.join(os.tmpdir(), parent)).catch(() => [])) {
      const dir = path.join(os.tmpdir(), parent, stage);
      if ((await stat(path.join(dir, fileName)).catch(() => undefined)) !== undefined) return dir;
    }
  }
  return undefined;
}

describe.runIf((isRoot && sandbox.available) || inCi)('run_code as root with a private (0700) data directory', () => {
  it('runs in CI as root, where this matters', () => {
    expect(isRoot).toBe(true);
    expect(sandbox).toMatchObject({ available: true });
  });

  it('writes, changes and deletes workspace files from Python, read back through the file tools', async () => {
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    await writeFile(path.join(runA, 'input.txt'), 'from the host');
    await writeFile(path.join(runA, 'old.txt'), 'delete me');
    const code = [
      'import os',
      'print(os.getuid(), open("input.txt").read())',
      'os.makedirs("out/deep", exist_ok=True)',
      'open("out/deep/result.txt", "w").write("computed: " + str(6 * 7))',
      'open("input.txt", "a").write(" and Python")',
      'os.remove("old.txt")',
    ].join('\n');
    const outcome = await run(runA, 'run_code', { code });
    expect(outcome.content).toBe('exit status: 0\n--- stdout ---\n65534 from the host\n--- stderr ---\n(empty)');

    expect(await run(runA, 'read_file', { path: 'out/deep/result.txt' })).toMatchObject({ ok: true, content: 'computed: 42' });
    expect(await readFile(path.join(runA, 'input.txt'), 'utf8')).toBe('from the host and Python');
    expect(await readdir(runA)).toEqual(expect.arrayContaining(['input.txt', 'out']));
    expect(await readdir(runA)).not.toContain('old.txt');
    // The private directory stayed private, and the workspace never became nobody's.
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    for (const entry of [runA, path.join(runA, 'out/deep/result.txt'), path.join(runA, 'input.txt')]) expect((await stat(entry)).uid, entry).toBe(0);
  });

  it("cannot reach the data directory, the workspaces' parent or another run's workspace", async () => {
    const workspaces = path.join(dataDir, 'workspaces');
    const targets = ['/work/..', dataDir, workspaces, runB, path.join(runB, 'secret.txt'), `/proc/1/root${runB}`];
    const outcome = await run(runA, 'run_code', { code: tryEachTargetCode(targets) });
    const results = JSON.parse(outcome.content.split('\n')[2] ?? '') as Record<string, unknown>;
    // "/work/.." is the sandbox's own root, not the host directory holding the workspaces.
    expect(results['/work/..']).toEqual(expect.arrayContaining(['work', 'usr']));
    expect(results['/work/..']).not.toContain('run-b');
    for (const target of targets.slice(1)) expect(results[target], target).toMatch(/^(FileNotFoundError|PermissionError)$/);
    expect(outcome.content).not.toContain('RUN B SECRET');
  });

  it("cannot reach another run's copy while both run, even knowing its path", async () => {
    const controller = new AbortController();
    const marker = uniqueName('b-is-running');
    const other = run(runB, 'run_code', { code: `import time\nopen("${marker}", "w").close()\ntime.sleep(60)` }, controller.signal);
    let stageOfB: string | undefined;
    try {
      while ((stageOfB = await stageHolding(marker)) === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      const code = [
        'import os',
        `for target in [${JSON.stringify(stageOfB)}, ${JSON.stringify(path.dirname(stageOfB))}, ${JSON.stringify(path.join(stageOfB, 'secret.txt'))}]:`,
        '    try:',
        '        print(target, os.listdir(target) if os.path.isdir(target) else open(target).read())',
        '    except OSError as error:',
        '        print(target, type(error).__name__)',
      ].join('\n');
      const outcome = await run(runA, 'run_code', { code });
      // B's copy was there, with its secret, all along.
      expect(await readFile(path.join(stageOfB, 'secret.txt'), 'utf8')).toBe('RUN B SECRET');
      expect(outcome.content).not.toContain('RUN B SECRET');
      expect(outcome.content).not.toContain(marker);
      expect(outcome.content.match(/(FileNotFoundError|PermissionError)/g)).toHaveLength(3);
    } finally {
      controller.abort();
      await other.catch(() => undefined);
      // The registry answers "aborted" at once; the call itself still kills B and copies its stage
      // back. Done only once the stage is gone, or the workspace is removed under the copy-back.
      while (stageOfB !== undefined && (await stat(stageOfB).then(() => true, () => false))) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  it('copies back no links, FIFOs or files through them, and says what it left out', async () => {
    const code = [
      'import os',
      `os.symlink(${JSON.stringify(path.join(runB, 'secret.txt'))}, "leak")`,
      'os.symlink("/etc", "etc")',
      'os.mkfifo("pipe")',
      'os.makedirs("dir")',
      'os.symlink("/etc/passwd", "dir/passwd")',
      'open("dir/kept.txt", "w").write("kept")',
    ].join('\n');
    const outcome = await run(runA, 'run_code', { code });
    expect(outcome.content).toMatch(/^exit status: 0\n/);
    expect(outcome.content).toContain('--- workspace: left out ---');
    for (const name of ['"leak": a symbolic link', '"etc": a symbolic link', '"pipe": not a regular file', '"dir/passwd": a symbolic link']) {
      expect(outcome.content).toContain(`${name}: not copied back`);
    }
    expect((await readdir(runA)).sort()).toEqual(['dir']);
    expect(await readdir(path.join(runA, 'dir'))).toEqual(['kept.txt']);
    expect(await readFile(path.join(runA, 'dir/kept.txt'), 'utf8')).toBe('kept');
  });

  it("keeps the workspace's version of a file changed there while the program ran", async () => {
    await writeFile(path.join(runA, 'notes.txt'), 'version 1');
    const started = uniqueName('started');
    const code = [
      'import os, time',
      `open("${started}", "w").close()`,
      'while not os.path.exists("go"):',
      '    time.sleep(0.05)',
      'open("notes.txt", "w").write("the program\'s version")',
    ].join('\n');
    const pending = run(runA, 'run_code', { code, timeoutSeconds: 20 });
    let stage: string | undefined;
    while ((stage = await stageHolding(started)) === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    await writeFile(path.join(runA, 'notes.txt'), 'version 2, written meanwhile');
    await writeFile(path.join(stage, 'go'), '');
    const outcome = await pending;
    expect(outcome.content).toContain('"notes.txt": it changed in the workspace while the program ran: not copied back');
    expect(await readFile(path.join(runA, 'notes.txt'), 'utf8')).toBe('version 2, written meanwhile');
  });
});
