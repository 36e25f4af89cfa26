import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { builtinTools, type FileToolLimits } from '../../src/tools/builtin/index.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import type { ToolOutcome } from '../../src/tools/types.js';
import { tempDir, toolCall, toolContext } from './helpers.js';

let ws = '';
let cleanup: () => Promise<void> = () => Promise.resolve();

beforeEach(async () => {
  ({ dir: ws, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

/** A registry whose output cap is high enough not to interfere with the file tools' own limits. */
function tools(limits: Partial<FileToolLimits> = {}): (name: string, args: unknown) => Promise<ToolOutcome> {
  const registry = new ToolRegistry(builtinTools(limits), { maxOutputChars: 1_000_000 });
  return (name, args) => registry.run(toolCall(name, args), toolContext(ws));
}

describe('read_file', () => {
  it('reads a whole small file', async () => {
    await writeFile(path.join(ws, 'a.txt'), 'héllo wörld');
    expect(await tools()('read_file', { path: 'a.txt' })).toMatchObject({ ok: true, content: 'héllo wörld' });
  });

  it('honours offset and max_chars and says where to continue', async () => {
    await writeFile(path.join(ws, 'abc.txt'), 'abcdefghij');
    const run = tools();
    const first = await run('read_file', { path: 'abc.txt', max_chars: 4 });
    expect(first.content).toBe('abcd\n\n[… 6 more characters; call read_file with offset=4 to continue]');
    const middle = await run('read_file', { path: 'abc.txt', offset: 4, max_chars: 4 });
    expect(middle.content).toMatch(/^efgh\n\n\[… 2 more characters; call read_file with offset=8/);
    expect((await run('read_file', { path: 'abc.txt', offset: 8 })).content).toBe('ij');
    const past = await run('read_file', { path: 'abc.txt', offset: 50 });
    expect(past.ok).toBe(false);
    expect(past.content).toContain('offset 50 is past the end of "abc.txt", which has 10 characters');
  });

  it('caps a read at the configured limit', async () => {
    await writeFile(path.join(ws, 'big.txt'), 'x'.repeat(250));
    const run = tools({ maxReadChars: 100 });
    const outcome = await run('read_file', { path: 'big.txt', max_chars: 1000 });
    expect(outcome.content.startsWith(`${'x'.repeat(100)}\n`)).toBe(true);
    expect(outcome.content).toContain('150 more characters; call read_file with offset=100');
  });

  it('reads a large file across chunk boundaries without splitting characters', async () => {
    const text = 'é'.repeat(100_000); // 200 KB of two-byte characters
    await writeFile(path.join(ws, 'accents.txt'), text);
    const outcome = await tools()('read_file', { path: 'accents.txt', offset: 99_990 });
    expect(outcome.content).toBe('é'.repeat(10));
  });

  it('refuses binary files and directories, and reports missing files', async () => {
    await writeFile(path.join(ws, 'image.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01, 0x02]));
    await mkdir(path.join(ws, 'dir'));
    const run = tools();
    const binary = await run('read_file', { path: 'image.png' });
    expect(binary.ok).toBe(false);
    expect(binary.content).toContain('"image.png" looks like a binary file');
    expect((await run('read_file', { path: 'dir' })).content).toContain('"dir" is a directory');
    expect((await run('read_file', { path: 'nope.txt' })).content).toContain('"nope.txt" does not exist');
  });
});

describe('write_file', () => {
  it('overwrites by default, creating parent directories', async () => {
    const run = tools();
    const outcome = await run('write_file', { path: 'notes/deep/a.md', content: 'first' });
    expect(outcome).toMatchObject({ ok: true, content: 'Wrote 5 bytes to notes/deep/a.md' });
    await run('write_file', { path: 'notes/deep/a.md', content: 'second' });
    expect(await readFile(path.join(ws, 'notes/deep/a.md'), 'utf8')).toBe('second');
  });

  it('appends, and counts bytes not characters', async () => {
    const run = tools();
    await run('write_file', { path: 'log.txt', content: 'a', mode: 'append' });
    const outcome = await run('write_file', { path: 'log.txt', content: 'é', mode: 'append' });
    expect(outcome.content).toBe('Appended 2 bytes to log.txt (now 3 bytes)');
    expect(await readFile(path.join(ws, 'log.txt'), 'utf8')).toBe('aé');
  });

  it('create mode fails when the file exists and leaves it untouched', async () => {
    const run = tools();
    expect((await run('write_file', { path: 'once.txt', content: 'one', mode: 'create' })).ok).toBe(true);
    const again = await run('write_file', { path: 'once.txt', content: 'two', mode: 'create' });
    expect(again.ok).toBe(false);
    expect(again.content).toContain('"once.txt" already exists');
    expect(await readFile(path.join(ws, 'once.txt'), 'utf8')).toBe('one');
  });

  it('refuses a file over the per-file limit, including by appending', async () => {
    const run = tools({ maxFileBytes: 10 });
    const big = await run('write_file', { path: 'big.txt', content: 'x'.repeat(11) });
    expect(big.ok).toBe(false);
    expect(big.content).toContain('over the 10 bytes limit per file');
    await expect(stat(path.join(ws, 'big.txt'))).rejects.toThrow();
    await run('write_file', { path: 'grow.txt', content: 'x'.repeat(8) });
    expect((await run('write_file', { path: 'grow.txt', content: 'xxx', mode: 'append' })).ok).toBe(false);
    expect(await readFile(path.join(ws, 'grow.txt'), 'utf8')).toBe('x'.repeat(8));
  });

  it('enforces the workspace quota, counting what an overwrite frees', async () => {
    const run = tools({ maxWorkspaceBytes: 20 });
    await writeFile(path.join(ws, 'existing.txt'), 'x'.repeat(15));
    const over = await run('write_file', { path: 'new.txt', content: 'y'.repeat(6) });
    expect(over.ok).toBe(false);
    expect(over.content).toContain('over its 20 bytes quota');
    expect(await readdir(ws)).toEqual(['existing.txt']);
    // Replacing the 15-byte file with 20 bytes stays within the quota.
    expect((await run('write_file', { path: 'existing.txt', content: 'z'.repeat(20) })).ok).toBe(true);
  });

  it('overwrites atomically, keeping the mode and leaving no temp files', async () => {
    const run = tools();
    await writeFile(path.join(ws, 'script.sh'), 'old', { mode: 0o750 });
    for (let i = 0; i < 5; i++) await run('write_file', { path: 'script.sh', content: `version ${i}` });
    expect(await readFile(path.join(ws, 'script.sh'), 'utf8')).toBe('version 4');
    expect((await stat(path.join(ws, 'script.sh'))).mode & 0o777).toBe(0o750);
    expect(await readdir(ws)).toEqual(['script.sh']);
  });

  it('refuses to write over a directory or to the workspace root', async () => {
    await mkdir(path.join(ws, 'dir'));
    const run = tools();
    expect((await run('write_file', { path: 'dir', content: 'x' })).content).toContain('"dir" is a directory');
    expect((await run('write_file', { path: '.', content: 'x' })).content).toContain('workspace directory itself');
  });
});

describe('list_files', () => {
  it('lists sorted entries with types and sizes, non-recursively by default', async () => {
    await mkdir(path.join(ws, 'sub'));
    await writeFile(path.join(ws, 'sub', 'inner.txt'), 'inner');
    await writeFile(path.join(ws, 'b.txt'), '12345');
    await writeFile(path.join(ws, 'a.txt'), '1');
    const content = (await tools()('list_files', {})).content;
    expect(content.split('\n')).toEqual([
      'Contents of your workspace:',
      'file     a.txt (1 byte)',
      'file     b.txt (5 bytes)',
      'dir      sub/',
    ]);
    const recursive = (await tools()('list_files', { recursive: true })).content;
    expect(recursive).toContain('file     sub/inner.txt (5 bytes)');
    expect((await tools()('list_files', { path: 'sub' })).content).toContain('sub/inner.txt');
  });

  it('caps the number of entries and says how many more there are', async () => {
    for (let i = 0; i < 12; i++) await writeFile(path.join(ws, `f${String(i).padStart(2, '0')}.txt`), '');
    const content = (await tools({ maxListEntries: 5 })('list_files', {})).content;
    const lines = content.split('\n');
    expect(lines.filter((l) => l.startsWith('file'))).toHaveLength(5);
    expect(lines[1]).toContain('f00.txt');
    expect(content).toContain('… and 7 more entries not shown');
  });

  it('caps the recursion depth', async () => {
    const deep = path.join(ws, ...Array.from({ length: 12 }, (_, i) => `d${i}`));
    await mkdir(deep, { recursive: true });
    await writeFile(path.join(deep, 'bottom.txt'), 'x');
    const content = (await tools()('list_files', { recursive: true })).content;
    expect(content).toContain('d0/d1/d2/d3/d4/d5/d6/d7/d8/d9/');
    expect(content).not.toContain('d10/');
    expect(content).not.toContain('bottom.txt');
    expect(content).toContain('not expanded');
  });

  it('reports an empty workspace and a file given as directory', async () => {
    expect((await tools()('list_files', {})).content).toBe('Your workspace is empty.');
    await writeFile(path.join(ws, 'a.txt'), '');
    expect((await tools()('list_files', { path: 'a.txt' })).content).toContain('"a.txt" is a file, not a directory');
  });
});
