/**
 * Issue 14 in the terminal: `cairn run --file` reads local files as the Discord intake reads
 * attachments, the renderer says where attached files are, and `cairn doctor`'s vision row
 * compares the server's answer to an image part with what CAIRN_VISION decides.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent, RunResult } from '../../src/agent/events.js';
import { loadConfig } from '../../src/config.js';
import { PROBE_PNG_BASE64, visionCheck } from '../../src/console/doctor-vision.js';
import { readLocalFiles } from '../../src/console/local-files.js';
import { consoleRenderer } from '../../src/console/render.js';
import { jsonSummary } from '../../src/console/run-command.js';
import { silentLogger } from '../../src/log.js';
import { llamaCppNoMmproj } from '../fakes/openai-error-bodies.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { cairn } from '../e2e/run-cli.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-files-cli-'));
  await writeFile(path.join(dir, 'data.csv'), 'a,b\n1,2\n');
  await writeFile(path.join(dir, 'chart.png'), Buffer.from(PROBE_PNG_BASE64, 'base64'));
  await writeFile(path.join(dir, 'tool.exe'), Buffer.from([0x4d, 0x5a, 0x90, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0x00]));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cairn run --file', () => {
  it('reads text and images by their bytes, with safe unique names', async () => {
    const files = await readLocalFiles([path.join(dir, 'data.csv'), path.join(dir, 'chart.png')]);
    expect(files.map((f) => ({ name: f.name, kind: f.kind, mimeType: f.mimeType, bytes: f.bytes.length }))).toEqual([
      { name: 'data.csv', kind: 'text', mimeType: 'text/csv', bytes: 8 },
      { name: 'chart.png', kind: 'image', mimeType: 'image/png', bytes: 97 },
    ]);
  });

  it('refuses a missing file, a directory, a type the intake refuses, and more than 3 files, naming the problem', async () => {
    await expect(readLocalFiles([path.join(dir, 'nope.txt')])).rejects.toThrow('nope.txt does not exist.');
    await expect(readLocalFiles([dir])).rejects.toThrow(/is (not a regular file|a directory)/);
    await expect(readLocalFiles([path.join(dir, 'tool.exe')])).rejects.toThrow('tool.exe');
    const four = Array.from({ length: 4 }, () => path.join(dir, 'data.csv'));
    await expect(readLocalFiles(four)).rejects.toThrow('a run takes at most 3 files');
  });
});

const result: RunResult = {
  runId: 'r1',
  goal: 'Chart it',
  mode: 'react',
  status: 'succeeded',
  answer: 'Here is the chart.',
  steps: 2,
  maxSteps: 10,
  usage: { promptTokens: 10, completionTokens: 5 },
  costUsd: null,
  toolCalls: { total: 2, succeeded: 2 },
  startedAt: '2026-01-01T00:00:00.000Z',
  endedAt: '2026-01-01T00:00:01.000Z',
  workspaceDir: '/data/workspaces/r1',
  attachments: [{ name: 'chart.png', path: 'out/chart.png', bytes: 2048 }],
};

describe('attached files in the terminal', () => {
  it('the run summary and the JSON say where each attached file is', () => {
    let text = '';
    const render = consoleRenderer({ write: (chunk: string) => (text += chunk) }, { color: false });
    void render({ type: 'final', runId: 'r1', elapsedMs: 1000, result } satisfies RunEvent);
    expect(text).toContain('Attached files\n📎 chart.png (2,048 bytes): /data/workspaces/r1/out/chart.png');
    const json: unknown = JSON.parse(jsonSummary(result));
    expect(json).toMatchObject({ attachments: [{ name: 'chart.png', path: '/data/workspaces/r1/out/chart.png', bytes: 2048 }] });
  });
});

describe("cairn doctor's vision row", () => {
  const fake = useFakeOpenAi();
  const config = (model: string, vision: string) => loadConfig({ OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: 'k', CAIRN_MODEL: model, CAIRN_VISION: vision }, ['llm'], dir);

  it('a known vision model that takes the image: ok', async () => {
    fake.script({ kind: 'text', content: 'Orange.' });
    const [row] = await visionCheck(config('gpt-4o-mini', 'auto'), silentLogger());
    expect(row).toEqual({ name: 'vision', status: 'ok', detail: '"gpt-4o-mini" takes image parts (CAIRN_VISION=auto: a known vision model)' });
    expect(JSON.stringify(fake.chatRequests()[0]?.messages)).toContain('data:image/png;base64,');
  });

  it('a model the table does not know, whose server takes the image: a warning that says to set CAIRN_VISION=on', async () => {
    fake.script({ kind: 'text', content: 'Orange.' });
    const [row] = await visionCheck(config('my-finetune', 'auto'), silentLogger());
    expect(row?.status).toBe('warn');
    expect(row?.fix).toContain('set CAIRN_VISION=on');
  });

  it('a server that refuses images: fine under auto for a text model, a warning with the fix under on', async () => {
    fake.script(llamaCppNoMmproj);
    const [auto] = await visionCheck(config('qwen3-8b-q4_k_m.gguf', 'auto'), silentLogger());
    expect(auto?.status).toBe('ok');
    expect(auto?.detail).toContain('the server refused an image part: "image input is not supported');
    fake.script(llamaCppNoMmproj);
    const [on] = await visionCheck(config('qwen3-8b-q4_k_m.gguf', 'on'), silentLogger());
    expect(on?.status).toBe('warn');
    expect(on?.fix).toContain('--mmproj');
  });

  it('CAIRN_VISION=off: skipped, nothing sent', async () => {
    const [row] = await visionCheck(config('gpt-4o', 'off'), silentLogger());
    expect(row?.status).toBe('skip');
    expect(fake.chatRequests()).toEqual([]);
  });
});

describe('cairn run --file, end to end', () => {
  const fake = useFakeOpenAi();

  it('the file lands in the workspace, the model reads it, attaches its output, and --json says where it is', async () => {
    fake.script(
      { kind: 'tool_calls', calls: [{ name: 'read_file', arguments: { path: 'data.csv' } }] },
      { kind: 'tool_calls', calls: [{ name: 'write_file', arguments: { path: 'sum.csv', content: 'sum\n3\n' } }] },
      { kind: 'tool_calls', calls: [{ name: 'attach_file', arguments: { path: 'sum.csv' } }] },
      { kind: 'text', content: 'The sum is 3; see sum.csv.' },
    );
    const data = path.join(dir, 'cli-data');
    const env = { OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: 'k', CAIRN_MODEL: 'fake-model', CAIRN_DATA_DIR: data, CAIRN_RUN_CODE: 'off', CAIRN_COMPLETION_CHECK: 'off' };
    const { code, stdout, stderr } = await cairn(['run', 'Add up column a', '--file', path.join(dir, 'data.csv'), '--json'], env, dir);
    expect(code, stderr).toBe(0);
    const out = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { status: string; workspaceDir: string; attachments: { name: string; path: string; bytes: number }[] };
    expect(out.status).toBe('succeeded');
    expect(out.attachments).toEqual([{ name: 'sum.csv', path: path.join(out.workspaceDir, 'sum.csv'), bytes: 6 }]);
    // Listed with the goal in the user's message, never in the system prompt (other people's text).
    const goal = JSON.stringify(fake.chatRequests()[0]?.messages.filter((m) => m.role === 'user'));
    expect(goal).toContain('data.csv (text, 8 bytes)');
    expect(JSON.stringify(fake.chatRequests()[1]?.messages)).toContain('a,b');
  });

  it('a file that cannot be read stops the command with exit 2 and the reason, before any model call', async () => {
    const env = { OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: 'k', CAIRN_MODEL: 'fake-model', CAIRN_DATA_DIR: path.join(dir, 'cli-data'), CAIRN_RUN_CODE: 'off' };
    const { code, stderr } = await cairn(['run', 'Read it', '--file', path.join(dir, 'missing.csv')], env, dir);
    expect(code).toBe(2);
    expect(stderr).toContain('missing.csv does not exist.');
    expect(fake.chatRequests()).toEqual([]);
  });
});
