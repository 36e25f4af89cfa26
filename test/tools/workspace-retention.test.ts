import { existsSync } from 'node:fs';
import { lutimes, mkdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent, newRunId } from '../../src/agent/agent.js';
import type { ChatModel, ChatResponse } from '../../src/llm/types.js';
import { silentLogger } from '../../src/log.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import { WorkspaceRetention, type WorkspaceRetentionOptions } from '../../src/tools/workspace-retention.js';
import { capturingLogger, tempDir } from './helpers.js';

const DAY = 86_400_000;

let base: string;
let root: string;
let cleanup: () => Promise<void>;
const opened: WorkspaceRetention[] = [];

beforeEach(async () => {
  ({ dir: base, cleanup } = await tempDir());
  root = path.join(base, 'workspaces');
  await mkdir(root);
});
afterEach(async () => {
  for (const retention of opened.splice(0)) await retention.close();
  await cleanup();
});

function retention(options: Partial<WorkspaceRetentionOptions> = {}): WorkspaceRetention {
  const made = new WorkspaceRetention({ root, retentionMs: 7 * DAY, maxRunMs: 15 * 60_000, log: silentLogger(), ...options });
  opened.push(made);
  return made;
}

/** A directory with a 1000-byte file, everything last modified `ageMs` ago. */
async function workspace(name: string, ageMs: number, where = root): Promise<string> {
  const dir = path.join(where, name);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'notes.txt');
  await writeFile(file, 'x'.repeat(1000));
  const then = new Date(Date.now() - ageMs);
  await utimes(file, then, then);
  await utimes(dir, then, then);
  return dir;
}

/** A run id as newRunId makes it, for a run started `ageMs` ago. */
const runIdAged = (ageMs: number) => newRunId(Date.now() - ageMs);

describe('workspace retention', () => {
  it('removes run workspaces older than the retention, keeps recent ones, and logs what it removed', async () => {
    const old = await workspace(runIdAged(10 * DAY), 10 * DAY);
    const recent = await workspace(runIdAged(2 * DAY), 2 * DAY);
    const { log, lines } = capturingLogger();

    const result = await retention({ log }).sweep();

    expect(existsSync(old)).toBe(false);
    expect(existsSync(recent)).toBe(true);
    expect(result.removed).toBe(1);
    expect(result.bytes).toBeGreaterThanOrEqual(1000);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'old run workspaces removed', removed: 1, bytes: result.bytes }));
  });

  it('counts from when the run ended, and keeps runs that may still be running elsewhere', async () => {
    const endedLongAgo = await workspace(runIdAged(9 * DAY), 9 * DAY);
    const endedYesterday = await workspace(runIdAged(9 * DAY), 9 * DAY);
    // Another process's run, started a minute ago, not yet ended (old files copied in, say).
    const runningElsewhere = await workspace(runIdAged(60_000), 9 * DAY);
    const name = (dir: string) => path.basename(dir);
    const ends = new Map<string, number | null>([
      [name(endedLongAgo), Date.now() - 9 * DAY],
      [name(endedYesterday), Date.now() - DAY],
      [name(runningElsewhere), null],
    ]);

    await retention({ endTimes: () => Promise.resolve(ends) }).sweep();
    expect(existsSync(endedLongAgo)).toBe(false);
    expect(existsSync(endedYesterday)).toBe(true); // its files are old, but the run ended a day ago
    expect(existsSync(runningElsewhere)).toBe(true);

    // Even with a retention of 0, a run not known to have ended and young enough to be running is kept.
    await retention({ retentionMs: 0, endTimes: () => Promise.resolve(ends) }).sweep();
    expect(existsSync(endedYesterday)).toBe(false);
    expect(existsSync(runningElsewhere)).toBe(true);
  });

  it('never touches schedule workspaces, chat sessions or other directories, whatever their age', async () => {
    const kept = [
      await workspace('schedule-a1b2c3', 400 * DAY),
      await workspace(`chat-${runIdAged(400 * DAY)}`, 400 * DAY),
      await workspace('my-project', 400 * DAY),
      await workspace('Mhx3k2a1-4f9c2e', 400 * DAY),
    ];
    const file = path.join(root, runIdAged(400 * DAY));
    await writeFile(file, 'not a directory');

    expect(await retention({ retentionMs: 0 }).sweep()).toEqual({ removed: 0, bytes: 0 });
    for (const dir of kept) expect(existsSync(dir)).toBe(true);
    expect(existsSync(file)).toBe(true);
  });

  it('keeps a workspace a run holds; with a retention of 0 it goes as soon as the run releases it', async () => {
    const dir = await workspace(runIdAged(30 * DAY), 30 * DAY);
    const keeper = retention({ retentionMs: 0 });
    const release = keeper.hold(dir);
    await keeper.sweep();
    expect(existsSync(dir)).toBe(true);

    release();
    await keeper.close();
    expect(existsSync(dir)).toBe(false);
  });

  it('holds a run’s own workspace for the whole run, through the agent, and deletes it after (retention 0)', async () => {
    const keeper = retention({ retentionMs: 0 });
    let workspaceDir = '';
    let presentDuringRun: boolean | undefined;
    const model: ChatModel = {
      model: 'fake',
      async chat(): Promise<ChatResponse> {
        await keeper.sweep();
        presentDuringRun = existsSync(workspaceDir);
        return { content: 'done', reasoning: null, toolCalls: [], usage: { promptTokens: 1, completionTokens: 1 }, usageEstimated: false, finishReason: 'stop', model: 'fake' };
      },
    };
    const agent = new Agent({
      model,
      tools: new ToolRegistry([]),
      log: silentLogger(),
      price: undefined,
      limits: { maxSteps: 3, maxTokens: 10_000, maxCostUsd: 1, maxDurationMs: 10_000 },
      workspaceRoot: root,
      workspaces: keeper,
    });
    const result = await agent.run({
      goal: 'say done',
      sinks: [
        (event) => {
          if (event.type === 'started') workspaceDir = event.workspaceDir;
        },
      ],
    });

    expect(result.status).toBe('succeeded');
    expect(presentDuringRun).toBe(true);
    await keeper.close();
    expect(existsSync(result.workspaceDir)).toBe(false);
  });

  it('never follows symbolic links, neither as candidates nor inside the workspaces it removes', async () => {
    const outside = await workspace('outside', 30 * DAY, base);
    const linkName = runIdAged(30 * DAY);
    await symlink(outside, path.join(root, linkName), 'dir');
    const old = await workspace(runIdAged(30 * DAY), 30 * DAY);
    await symlink(outside, path.join(old, 'escape'), 'dir');
    await symlink(path.join(outside, 'notes.txt'), path.join(old, 'file-link'));
    const then = new Date(Date.now() - 30 * DAY);
    for (const link of ['escape', 'file-link']) await lutimes(path.join(old, link), then, then);
    await utimes(old, then, then);

    const result = await retention().sweep();

    expect(result.removed).toBe(1);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(path.join(root, linkName))).toBe(true);
    expect(await readFile(path.join(outside, 'notes.txt'), 'utf8')).toHaveLength(1000);
  });

  it('sweeps at start-up and on its interval, and stops when closed', async () => {
    const first = await workspace(runIdAged(10 * DAY), 10 * DAY);
    const keeper = retention({ intervalMs: 30 });
    keeper.start();
    await expect.poll(() => existsSync(first)).toBe(false);

    const second = await workspace(runIdAged(10 * DAY), 10 * DAY);
    await expect.poll(() => existsSync(second)).toBe(false);

    await keeper.close();
    const third = await workspace(runIdAged(10 * DAY), 10 * DAY);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(existsSync(third)).toBe(true);
  });

  it('does nothing when no run has made a workspace yet', async () => {
    expect(await retention({ root: path.join(base, 'missing') }).sweep()).toEqual({ removed: 0, bytes: 0 });
  });
});
