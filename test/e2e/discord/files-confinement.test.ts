/**
 * Files out are confined to the run's workspace a second time when they are read for posting:
 * the agent core checked them when they were attached, but the workspace may change after (a
 * run_code step, a tool swapping a file for a link). Nothing outside the workspace is posted.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunResult } from '../../../src/agent/events.js';
import { answerMessages } from '../../../src/discord/answer.js';
import { readAnswerFiles } from '../../../src/discord/files-out.js';
import type { OutgoingFile } from '../../../src/files/types.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

function result(workspaceDir: string, attachments: OutgoingFile[]): RunResult {
  const at = new Date().toISOString();
  return {
    runId: 'r1-abc',
    goal: 'g',
    mode: 'react',
    status: 'succeeded',
    answer: 'Done.',
    steps: 1,
    maxSteps: 10,
    usage: { promptTokens: 1, completionTokens: 1 },
    costUsd: 0,
    toolCalls: { total: 0, succeeded: 0 },
    startedAt: at,
    endedAt: at,
    workspaceDir,
    attachments,
  };
}

describe('files out: confinement when posting', () => {
  it('posts regular files inside the workspace only; links out, escapes, absolute paths and directories are named as not attached', async () => {
    const outside = await mkdtemp(path.join(os.tmpdir(), 'cairn-outside-'));
    const workspace = await mkdtemp(path.join(os.tmpdir(), 'cairn-ws-'));
    dirs.push(outside, workspace);
    await writeFile(path.join(outside, 'secret.txt'), 'the host’s secret');
    await writeFile(path.join(workspace, 'ok.txt'), 'fine');
    await symlink(path.join(outside, 'secret.txt'), path.join(workspace, 'link-out.txt'));
    await symlink(outside, path.join(workspace, 'dir-link'));
    await mkdir(path.join(workspace, 'sub'));
    const file = (name: string, p: string): OutgoingFile => ({ name, path: p, bytes: 4 });
    const files = await readAnswerFiles(
      result(workspace, [
        file('ok.txt', 'ok.txt'),
        file('link-out.txt', 'link-out.txt'),
        file('through-link.txt', 'dir-link/secret.txt'),
        file('escape.txt', '../secret.txt'),
        file('absolute.txt', path.join(outside, 'secret.txt')),
        file('sub', 'sub'),
        file('gone.txt', 'gone.txt'),
      ]),
    );
    expect(files.batches.map((b) => b.map((f) => [f.name, f.data.toString('utf8')]))).toEqual([[['ok.txt', 'fine']]]);
    expect(files.left.map((f) => [f.name, f.why])).toEqual([
      ['link-out.txt', 'unreadable'],
      ['through-link.txt', 'unreadable'],
      ['escape.txt', 'unreadable'],
      ['absolute.txt', 'unreadable'],
      ['sub', 'unreadable'],
      ['gone.txt', 'unreadable'],
    ]);
    const parts = answerMessages(result(workspace, []), files);
    expect(parts.at(-1)?.files?.map((f) => f.name)).toEqual(['ok.txt']);
    expect(parts.at(-1)?.content).toContain("📎 `link-out.txt` (4 bytes) could not be attached: it is no longer a file in the run's workspace.");
    expect(JSON.stringify(parts)).not.toContain('secret');
  });

  it('splits more than ten files over messages, each within Discord’s 10 files', async () => {
    const workspace = await mkdtemp(path.join(os.tmpdir(), 'cairn-ws-'));
    dirs.push(workspace);
    const attached: OutgoingFile[] = [];
    for (let n = 1; n <= 12; n++) {
      await writeFile(path.join(workspace, `f${n}.txt`), `file ${n}`);
      attached.push({ name: `f${n}.txt`, path: `f${n}.txt`, bytes: 6 });
    }
    const run = result(workspace, attached);
    const parts = answerMessages(run, await readAnswerFiles(run));
    expect(parts.map((p) => p.files?.length ?? 0)).toEqual([10, 2]);
    expect(parts[1]?.content).toBe('📎 More files (2/2)');
  });
});
