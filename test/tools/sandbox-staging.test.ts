/**
 * The stage a root bot hands to sandboxed code instead of its private workspace, exercised
 * without a sandbox: the test plays the code, changing the stage directly, and checks what the
 * copy back does with it. Runs as any user (the stage is then the user's own).
 */
import { lstat, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_STAGE_LIMITS, stageWorkspace, WorkspaceTooLarge, type StageLimits } from '../../src/tools/sandbox/staging.js';
import { removeTree } from '../../src/tools/sandbox/tree.js';
import { tempDir } from './helpers.js';

const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
const limits: StageLimits = { ...DEFAULT_STAGE_LIMITS, maxFileBytes: 1024 * 1024 };

let ws = '';
let outside = '';
const cleanups: (() => Promise<void>)[] = [];
beforeEach(async () => {
  const made = await tempDir();
  const other = await tempDir();
  cleanups.push(made.cleanup, other.cleanup);
  ws = made.dir;
  outside = other.dir;
  await writeFile(path.join(outside, 'secret.txt'), 'OUTSIDE SECRET');
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('stage parents left by processes that are gone', () => {
  // First in this file: the sweep runs when a process makes its first stage.
  it('are deleted when a process makes its first stage, those of live processes are not', async () => {
    const deadPid = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).toString());
    const abandoned = path.join(os.tmpdir(), `cairn-run-code-${deadPid}-abandoned`);
    const live = path.join(os.tmpdir(), `cairn-run-code-${process.ppid}-live`);
    await mkdir(path.join(abandoned, 'stage/nested'), { recursive: true });
    await writeFile(path.join(abandoned, 'stage/nested/left.txt'), 'left by a dead run');
    await symlink(path.join(outside, 'secret.txt'), path.join(abandoned, 'stage/link'));
    await mkdir(live);
    try {
      const stage = await stageWorkspace(ws, me, limits);
      await stage.finish();
      expect(await lstat(abandoned).catch(() => 'gone')).toBe('gone');
      expect((await lstat(live)).isDirectory()).toBe(true);
      expect(await readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('OUTSIDE SECRET');
    } finally {
      await rm(abandoned, { recursive: true, force: true });
      await rm(live, { recursive: true, force: true });
    }
  });
});

describe('the stage of a workspace', () => {
  it('is a private copy in a directory others may enter but not list, and is deleted when done', async () => {
    await mkdir(path.join(ws, 'sub'));
    await writeFile(path.join(ws, 'sub/a.txt'), 'A');
    await writeFile(path.join(ws, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    const stage = await stageWorkspace(ws, me, limits);
    expect(stage.dir.startsWith(ws)).toBe(false);
    expect((await stat(stage.dir)).mode & 0o777).toBe(0o700);
    expect((await stat(path.dirname(stage.dir))).mode & 0o777).toBe(0o711);
    expect(path.basename(stage.dir)).toMatch(/^[0-9a-f]{32}$/);
    expect(await readFile(path.join(stage.dir, 'sub/a.txt'), 'utf8')).toBe('A');
    expect((await stat(path.join(stage.dir, 'run.sh'))).mode & 0o100).toBe(0o100);
    expect(await stage.finish()).toEqual([]);
    expect(await lstat(stage.dir).catch(() => 'gone')).toBe('gone');
  });

  it('copies back new and changed files and deletions, and leaves unchanged files alone', async () => {
    await writeFile(path.join(ws, 'same.txt'), 'same');
    await writeFile(path.join(ws, 'changed.txt'), 'before');
    await mkdir(path.join(ws, 'olddir'));
    await writeFile(path.join(ws, 'olddir/gone.txt'), 'gone');
    await writeFile(path.join(ws, 'became-dir'), 'a file');
    const sameBefore = await stat(path.join(ws, 'same.txt'));
    const stage = await stageWorkspace(ws, me, limits);
    await writeFile(path.join(stage.dir, 'changed.txt'), 'after');
    await mkdir(path.join(stage.dir, 'new/deeper'), { recursive: true });
    await writeFile(path.join(stage.dir, 'new/deeper/made.txt'), 'made');
    execFileSync('rm', ['-r', path.join(stage.dir, 'olddir'), path.join(stage.dir, 'became-dir')]);
    await mkdir(path.join(stage.dir, 'became-dir'));
    await writeFile(path.join(stage.dir, 'became-dir/inside.txt'), 'inside');

    expect(await stage.finish()).toEqual([]);
    expect(await readFile(path.join(ws, 'changed.txt'), 'utf8')).toBe('after');
    expect(await readFile(path.join(ws, 'new/deeper/made.txt'), 'utf8')).toBe('made');
    expect(await readFile(path.join(ws, 'became-dir/inside.txt'), 'utf8')).toBe('inside');
    expect((await readdir(ws)).sort()).toEqual(['became-dir', 'changed.txt', 'new', 'same.txt']);
    expect((await stat(path.join(ws, 'same.txt'))).ctimeMs).toBe(sameBefore.ctimeMs);
  });

  it('never follows links, copies no FIFOs, and never writes through a link in the workspace', async () => {
    await symlink(path.join(outside, 'secret.txt'), path.join(ws, 'planted'));
    const stage = await stageWorkspace(ws, me, limits);
    // Links and special files in the workspace are not handed to the code.
    expect(await readdir(stage.dir)).toEqual([]);
    await symlink(path.join(outside, 'secret.txt'), path.join(stage.dir, 'leak'));
    await symlink(outside, path.join(stage.dir, 'dirlink'));
    execFileSync('mkfifo', [path.join(stage.dir, 'fifo')]);
    await writeFile(path.join(stage.dir, 'planted'), 'through the link?');

    const notes = await stage.finish();
    expect(notes).toEqual(
      expect.arrayContaining([
        '"dirlink": a symbolic link: not copied back',
        '"fifo": not a regular file: not copied back',
        '"leak": a symbolic link: not copied back',
        '"planted": the workspace has something else by that name: not copied back',
      ]),
    );
    expect((await readdir(ws)).sort()).toEqual(['planted']);
    expect((await lstat(path.join(ws, 'planted'))).isSymbolicLink()).toBe(true);
    expect(await readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('OUTSIDE SECRET');
  });

  it('leaves out files over the size limit and says so', async () => {
    const stage = await stageWorkspace(ws, me, { ...limits, maxFileBytes: 1000 });
    await writeFile(path.join(stage.dir, 'big.bin'), Buffer.alloc(1001));
    await writeFile(path.join(stage.dir, 'small.bin'), Buffer.alloc(1000));
    expect(await stage.finish()).toEqual(['"big.bin": larger than 1000 bytes: not copied back']);
    expect(await readdir(ws)).toEqual(['small.bin']);
  });

  it('refuses a workspace over the limits, leaving no stage behind', async () => {
    await writeFile(path.join(ws, 'a.bin'), Buffer.alloc(600));
    await writeFile(path.join(ws, 'b.bin'), Buffer.alloc(600));
    await expect(stageWorkspace(ws, me, { ...limits, maxBytes: 1000 })).rejects.toThrow(WorkspaceTooLarge);
    await expect(stageWorkspace(ws, me, { ...limits, maxEntries: 1 })).rejects.toThrow(/more than 1 files and directories/);
  });

  it('keeps what the code deleted when the stage had too many entries to see it all', async () => {
    await writeFile(path.join(ws, 'keep.txt'), 'keep');
    const stage = await stageWorkspace(ws, me, { ...limits, maxEntries: 3 });
    execFileSync('rm', [path.join(stage.dir, 'keep.txt')]);
    for (const name of ['1', '2', '3', '4']) await writeFile(path.join(stage.dir, name), name);
    const notes = await stage.finish();
    expect(notes.join('\n')).toContain('files the program deleted were kept');
    expect(await readFile(path.join(ws, 'keep.txt'), 'utf8')).toBe('keep');
  });
});

describe('removeTree', () => {
  it('deletes a tree nested far deeper than it holds open, without following links out', async () => {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    const root = path.join(dir, 'tree');
    let current = root;
    for (let level = 0; level < 60; level++) current = path.join(current, 'd');
    await mkdir(current, { recursive: true });
    await symlink(outside, path.join(current, 'out'));
    await symlink(path.join(outside, 'secret.txt'), path.join(root, 'secret-link'));
    expect(await removeTree(root)).toBe(true);
    expect(await readdir(dir)).toEqual([]);
    expect(await readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('OUTSIDE SECRET');
  });
});
