/**
 * Issue 14, files out: attach_file takes only regular files inside the run's workspace, at most
 * ten per run, each once; the run's result lists them in order, in every mode.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ATTACHMENTS, RunAttachments } from '../../src/agent/attachments.js';
import type { AgentMode } from '../../src/agent/events.js';
import { silentLogger } from '../../src/log.js';
import { attachFileTool } from '../../src/tools/builtin/attach-file.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import type { ToolContext, ToolOutcome } from '../../src/tools/types.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { guardedAgent, modelFor, toolResults } from './exposure-fixtures.js';

const fake = useFakeOpenAi();
let root = '';
let outside = '';
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cairn-attach-'));
  outside = await mkdtemp(path.join(os.tmpdir(), 'cairn-attach-outside-'));
  await writeFile(path.join(outside, 'secret.txt'), 'not yours');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

const registry = new ToolRegistry([attachFileTool]);

async function workspace(): Promise<string> {
  const dir = await mkdtemp(path.join(root, 'ws-'));
  await writeFile(path.join(dir, 'chart.png'), 'png bytes');
  await mkdir(path.join(dir, 'out'));
  await writeFile(path.join(dir, 'out', 'report.csv'), 'a,b\n1,2\n');
  return dir;
}

function attach(workspaceDir: string, args: Record<string, unknown>, attachments: RunAttachments | null = new RunAttachments()): Promise<ToolOutcome> {
  const context: ToolContext = {
    runId: 'r1',
    workspaceDir,
    signal: new AbortController().signal,
    log: silentLogger(),
    ...(attachments === null ? {} : { attach: (file) => attachments.add(file) }),
  };
  return registry.run({ id: 'c1', name: 'attach_file', arguments: JSON.stringify(args) }, context);
}

describe('attach_file', () => {
  it('attaches a workspace file by its relative path, under its own name or a safe one given', async () => {
    const dir = await workspace();
    const list = new RunAttachments();
    const first = await attach(dir, { path: 'out/report.csv' }, list);
    expect(first.ok, first.content).toBe(true);
    expect(first.content).toContain('Attached "out/report.csv" as report.csv');
    const second = await attach(dir, { path: 'chart.png', name: '../../etc/Q1 chart?.png' }, list);
    expect(second.ok, second.content).toBe(true);
    expect(list.files).toEqual([
      { name: 'report.csv', path: 'out/report.csv', bytes: 8 },
      { name: 'Q1 chart_.png', path: 'chart.png', bytes: 9 },
    ]);
  });

  it.each([
    ['../secret.txt', 'points outside your workspace'],
    ['out/../../secret.txt', 'points outside your workspace'],
    ['/etc/passwd', 'absolute paths are not allowed'],
    ['missing.csv', 'does not exist in your workspace'],
    ['out', 'is a directory'],
    ['.', 'the workspace directory itself'],
  ])('refuses %s', async (given, why) => {
    const dir = await workspace();
    const list = new RunAttachments();
    const outcome = await attach(dir, { path: given }, list);
    expect(outcome.ok).toBe(false);
    expect(outcome.content).toContain(why);
    expect(outcome.content).not.toContain(root);
    expect(list.files).toEqual([]);
  });

  it('refuses a symbolic link that leads out of the workspace, and one to a directory outside', async () => {
    const dir = await workspace();
    await symlink(path.join(outside, 'secret.txt'), path.join(dir, 'link.txt'));
    await symlink(outside, path.join(dir, 'elsewhere'));
    const list = new RunAttachments();
    for (const given of ['link.txt', 'elsewhere/secret.txt']) {
      const outcome = await attach(dir, { path: given }, list);
      expect(outcome.ok).toBe(false);
      expect(outcome.content).toContain('outside your workspace through a symbolic link');
    }
    expect(list.files).toEqual([]);
  });

  it(`attaches each file once, and at most ${MAX_ATTACHMENTS} per run`, async () => {
    const dir = await workspace();
    const list = new RunAttachments();
    for (let i = 0; i < MAX_ATTACHMENTS; i++) await writeFile(path.join(dir, `f${i}.txt`), `file ${i}`);
    for (let i = 0; i < MAX_ATTACHMENTS; i++) expect((await attach(dir, { path: `f${i}.txt` }, list)).ok).toBe(true);
    const again = await attach(dir, { path: 'f0.txt' }, list);
    expect(again.ok).toBe(true);
    expect(again.content).toContain('was already attached');
    const over = await attach(dir, { path: 'chart.png' }, list);
    expect(over.ok).toBe(false);
    expect(over.content).toContain(`already attached ${MAX_ATTACHMENTS} files`);
    expect(list.files.map((f) => f.path)).toEqual(Array.from({ length: MAX_ATTACHMENTS }, (_, i) => `f${i}.txt`));
  });

  it('gives two files of the same name different names', async () => {
    const dir = await workspace();
    await writeFile(path.join(dir, 'out', 'chart.png'), 'other');
    const list = new RunAttachments();
    await attach(dir, { path: 'chart.png' }, list);
    await attach(dir, { path: 'out/chart.png' }, list);
    expect(list.files.map((f) => f.name)).toEqual(['chart.png', 'chart-2.png']);
  });

  it('says so where nothing can receive files', async () => {
    const outcome = await attach(await workspace(), { path: 'chart.png' }, null);
    expect(outcome.ok).toBe(false);
    expect(outcome.content).toContain('files cannot be attached here');
  });
});

describe('RunResult.attachments', () => {
  for (const mode of ['react', 'plan', 'reflexion'] as AgentMode[]) {
    it(`${mode}: lists the files the run attached, in order, once each`, async () => {
      fake.respondWith(
        modelFor(mode, [
          [
            { name: 'write_file', arguments: { path: 'totals.csv', content: 'region,total\nnorth,12\n' } },
            { name: 'attach_file', arguments: { path: 'totals.csv' } },
          ],
          // A later task or attempt adds to the same list.
          [
            { name: 'write_file', arguments: { path: 'notes.md', content: '# Notes\n' } },
            { name: 'attach_file', arguments: { path: 'notes.md', name: 'summary.md' } },
            { name: 'attach_file', arguments: { path: 'totals.csv' } },
          ],
        ]),
      );
      const result = await guardedAgent(fake, root, []).run({ goal: 'Write the totals as a CSV and send it to me.', mode });
      expect(result.status, result.reason).toBe('succeeded');
      expect(result.attachments).toEqual([
        { name: 'totals.csv', path: 'totals.csv', bytes: 22 },
        { name: 'summary.md', path: 'notes.md', bytes: 8 },
      ]);
      expect(toolResults(fake).join('\n')).toContain('was already attached as totals.csv');
    });
  }

  it('is absent when nothing was attached', async () => {
    fake.respondWith(() => ({ kind: 'text', content: 'Nothing to send.' }));
    const result = await guardedAgent(fake, root, []).run({ goal: 'Say hello.' });
    expect(result.attachments).toBeUndefined();
  });
});
