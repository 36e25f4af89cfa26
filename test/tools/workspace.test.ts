import { mkdir, readdir, readFile, realpath, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { builtinTools } from '../../src/tools/builtin/index.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import type { ToolOutcome } from '../../src/tools/types.js';
import { resolveInWorkspace, workspaceRelative, workspaceRoot } from '../../src/tools/workspace.js';
import { tempDir, toolCall, toolContext } from './helpers.js';

// Layout: <base>/ws is the workspace, <base>/outside holds a secret the model must never reach.
let base = '';
let ws = '';
let outside = '';
let cleanup: () => Promise<void> = () => Promise.resolve();
const registry = new ToolRegistry(builtinTools());

beforeEach(async () => {
  ({ dir: base, cleanup } = await tempDir());
  ws = path.join(base, 'ws');
  outside = path.join(base, 'outside');
  await mkdir(ws);
  await mkdir(outside);
  await writeFile(path.join(outside, 'secret.txt'), 'TOP SECRET');
});
afterEach(async () => {
  await cleanup();
});

function run(name: string, args: unknown): Promise<ToolOutcome> {
  return registry.run(toolCall(name, args), toolContext(ws));
}

function expectRefused(outcome: ToolOutcome): void {
  expect(outcome.ok).toBe(false);
  expect(outcome.error?.kind).toBe('tool_error');
  expect(outcome.content).not.toContain('TOP SECRET');
  // The model is never shown where the workspace lives on the host (it may see its own input echoed).
  expect(outcome.content).not.toContain(ws);
}

describe('resolveInWorkspace', () => {
  it('resolves relative paths to real absolute paths inside the workspace', async () => {
    const root = await realpath(ws);
    expect(await resolveInWorkspace(ws, 'notes/a.md')).toBe(path.join(root, 'notes', 'a.md'));
    expect(await resolveInWorkspace(ws, 'a/../b.txt')).toBe(path.join(root, 'b.txt'));
    expect(await resolveInWorkspace(ws, '.')).toBe(root);
    expect(await resolveInWorkspace(ws, '')).toBe(root);
    expect(workspaceRelative(root, path.join(root, 'notes', 'a.md'))).toBe('notes/a.md');
    expect(workspaceRelative(root, root)).toBe('.');
    expect(workspaceRelative(root, outside)).not.toContain(base);
  });

  it('refuses every escape attempt with a message free of host paths', async () => {
    await symlink(outside, path.join(ws, 'link-out'));
    await symlink(path.join(outside, 'secret.txt'), path.join(ws, 'secret-link'));
    await symlink(path.join(outside, 'missing.txt'), path.join(ws, 'dangling'));
    const attempts = [
      '../x',
      'a/../../x',
      '/etc/passwd',
      path.join(outside, 'secret.txt'),
      'link-out/secret.txt',
      'link-out',
      'secret-link',
      'dangling',
      'dangling/x',
      'notes\0.md',
    ];
    for (const attempt of attempts) {
      const error = await resolveInWorkspace(ws, attempt).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error, attempt).toBeInstanceOf(Error);
      expect((error as Error).message, attempt).not.toContain(ws);
    }
  });

  it('follows a symlink that stays inside the workspace', async () => {
    await mkdir(path.join(ws, 'real'));
    await symlink(path.join(ws, 'real'), path.join(ws, 'alias'));
    expect(await resolveInWorkspace(ws, 'alias/x.txt')).toBe(path.join(await realpath(ws), 'real', 'x.txt'));
  });

  it('gives a clear error when the workspace is missing or the target must exist', async () => {
    await expect(resolveInWorkspace(path.join(base, 'gone'), 'a.txt')).rejects.toThrow(/workspace directory does not exist/);
    await expect(workspaceRoot(path.join(base, 'gone'))).rejects.toThrow(/does not exist/);
    await expect(resolveInWorkspace(ws, 'nope/a.txt', { mustExist: true })).rejects.toThrow('"nope/a.txt" does not exist');
  });
});

describe('file tools stay inside the workspace', () => {
  it('refuses .., absolute and sibling paths for every tool', async () => {
    for (const p of ['../outside/secret.txt', 'a/../../outside/secret.txt', '/etc/passwd', path.join(outside, 'secret.txt')]) {
      expectRefused(await run('read_file', { path: p }));
      expectRefused(await run('write_file', { path: p, content: 'pwned' }));
      expectRefused(await run('list_files', { path: path.dirname(p) === '.' ? p : path.dirname(p) }));
    }
    expect(await readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('TOP SECRET');
    expect(await readdir(outside)).toEqual(['secret.txt']);
  });

  it('refuses a NUL byte in a path', async () => {
    const outcome = await run('read_file', { path: 'a\0b' });
    expectRefused(outcome);
    expect(outcome.content).toContain('NUL byte');
  });

  it('refuses to read, write or list through a symlinked directory pointing outside', async () => {
    await symlink(outside, path.join(ws, 'escape'));
    const read = await run('read_file', { path: 'escape/secret.txt' });
    expectRefused(read);
    expect(read.content).toContain('outside your workspace');
    expectRefused(await run('write_file', { path: 'escape/new.txt', content: 'pwned' }));
    expectRefused(await run('write_file', { path: 'escape/secret.txt', content: 'pwned' }));
    expectRefused(await run('list_files', { path: 'escape' }));
    expectRefused(await run('list_files', { path: 'escape/.' }));
    expect(await readdir(outside)).toEqual(['secret.txt']);
    expect(await readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('TOP SECRET');

    // Listing the parent shows the link but does not follow it.
    const listing = await run('list_files', { path: '.', recursive: true });
    expect(listing.ok).toBe(true);
    expect(listing.content).toContain('symlink  escape (not followed)');
    expect(listing.content).not.toContain('secret.txt');
  });

  it('never clobbers an outside file through a symlink at the final component', async () => {
    await symlink(path.join(outside, 'secret.txt'), path.join(ws, 'notes.md'));
    for (const mode of ['overwrite', 'append', 'create']) {
      expectRefused(await run('write_file', { path: 'notes.md', content: 'pwned', mode }));
    }
    expectRefused(await run('read_file', { path: 'notes.md' }));
    expect(await readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('TOP SECRET');

    // A dangling link to a file that does not exist yet must not create it.
    await symlink(path.join(outside, 'planted.txt'), path.join(ws, 'planted.txt'));
    expectRefused(await run('write_file', { path: 'planted.txt', content: 'pwned' }));
    expectRefused(await run('write_file', { path: 'planted.txt', content: 'pwned', mode: 'append' }));
    expect(await readdir(outside)).toEqual(['secret.txt']);
  });

  it('works through a symlink that points inside the workspace', async () => {
    await mkdir(path.join(ws, 'real'));
    await writeFile(path.join(ws, 'real', 'a.txt'), 'inside');
    await symlink(path.join(ws, 'real'), path.join(ws, 'alias'));
    expect(await run('read_file', { path: 'alias/a.txt' })).toMatchObject({ ok: true, content: 'inside' });
    expect((await run('write_file', { path: 'alias/b.txt', content: 'via link' })).ok).toBe(true);
    expect(await readFile(path.join(ws, 'real', 'b.txt'), 'utf8')).toBe('via link');
    const listing = await run('list_files', { path: 'alias' });
    expect(listing.content).toContain('real/a.txt');
    expect(listing.content).toContain('real/b.txt');
  });

  it('refuses to write through a final-component symlink even when it points inside', async () => {
    await writeFile(path.join(ws, 'target.txt'), 'original');
    await symlink(path.join(ws, 'target.txt'), path.join(ws, 'link.txt'));
    const outcome = await run('write_file', { path: 'link.txt', content: 'changed' });
    expect(outcome.ok).toBe(false);
    expect(outcome.content).toContain('symbolic link');
    expect(await readFile(path.join(ws, 'target.txt'), 'utf8')).toBe('original');
  });

  it('gives a clear error when the workspace directory does not exist', async () => {
    const outcome = await registry.run(toolCall('list_files'), toolContext(path.join(base, 'missing')));
    expect(outcome.ok).toBe(false);
    expect(outcome.content).toContain('workspace directory does not exist');
  });
});
