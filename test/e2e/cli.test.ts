import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openai-server.js';
import { detectSandbox } from '../../src/tools/code.js';
import { cairn } from './run-cli.js';

/**
 * Where bubblewrap cannot run (not installed, user namespaces off), `cairn run` says once that
 * run_code is not offered, and nothing else; with it, stderr stays empty.
 */
const sandboxWorks = (await detectSandbox()).available;
const expectQuietStderr = (stderr: string): void => {
  if (sandboxWorks) expect(stderr).toBe('');
  else expect(stderr.trim().split('\n').filter((line) => !line.includes('run_code is not offered'))).toEqual([]);
};

let fake: FakeOpenAi;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  fake = await startFakeOpenAi({ apiKey: 'sk-test-secret-value' });
  dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-cli-test-'));
  env = { OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: 'sk-test-secret-value', CAIRN_MODEL: 'gpt-4o-mini', CAIRN_DATA_DIR: path.join(dir, 'data') };
});
afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});
let testNumber = 0;
beforeEach(() => {
  fake.reset();
  // Each test its own database: a run left to reflect on by one test must not be picked up by the next.
  testNumber += 1;
  env = { ...env, CAIRN_DATA_DIR: path.join(dir, `data-${testNumber}`) };
});

const timeThenAnswer = () => {
  fake.script(
    { kind: 'tool_calls', content: 'Checking the clock in Tokyo.', calls: [{ name: 'current_time', arguments: { timezone: 'Asia/Tokyo' } }], usage: { prompt: 300, completion: 20 } },
    { kind: 'text', content: 'It is Sunday in Tokyo.', usage: { prompt: 400, completion: 10 } },
  );
};

// Each test starts cairn processes (about 1.5 s each, several times that on a loaded machine).
describe('cairn run', { timeout: 60_000 }, () => {
  it('prints each step as it happens, the answer and an execution summary', async () => {
    timeThenAnswer();
    const { code, stdout, stderr } = await cairn(['run', 'What day is it in Tokyo?'], env, dir);
    expectQuietStderr(stderr);
    expect(code).toBe(0);
    expect(stdout).toContain('▶ What day is it in Tokyo?');
    expect(stdout).toMatch(/\[1\/20\] call current_time/);
    expect(stdout).toContain('Checking the clock in Tokyo.');
    expect(stdout).toMatch(/→ current_time \{"timezone":"Asia\/Tokyo"\}/);
    expect(stdout).toMatch(/✓ current_time/);
    expect(stdout).toMatch(/\[2\/20\] answer/);
    expect(stdout).toContain('It is Sunday in Tokyo.');
    expect(stdout).toMatch(/status:\s+succeeded/);
    expect(stdout).toMatch(/steps:\s+2 of 20/);
    expect(stdout).toMatch(/tokens:\s+730 \(700 prompt, 30 completion\)/);
    expect(stdout).toMatch(/cost:\s+\$0\.000\d/);
    expect(stdout).toMatch(/tools:\s+1\/1 succeeded \(100%\)/);
    expect(stdout).not.toContain('sk-test-secret-value');
  });

  it('--mode plan shows the plan, carries out each task and answers from the results', async () => {
    const tasks = [
      { id: 't1', title: 'Check the clock in Tokyo', detail: 'Use current_time for Asia/Tokyo.', dependsOn: [] },
      { id: 't2', title: 'Name the day', detail: 'From the time, name the weekday.', dependsOn: ['t1'] },
    ];
    fake.script(
      { kind: 'text', content: JSON.stringify({ tasks }) },
      { kind: 'tool_calls', calls: [{ name: 'current_time', arguments: { timezone: 'Asia/Tokyo' } }] },
      { kind: 'text', content: 'Tokyo: Sunday 09:00' },
      { kind: 'text', content: 'Sunday' },
      { kind: 'text', content: 'It is Sunday in Tokyo.' },
    );
    const { code, stdout } = await cairn(['run', '--mode', 'plan', 'What day is it in Tokyo?'], env, dir);
    expect(code).toBe(0);
    expect(stdout).toContain('· plan ·');
    expect(stdout).toMatch(/── Plan: 2 tasks\n {2}○ t1: Check the clock in Tokyo\n {2}○ t2: Name the day \(after t1\)/);
    expect(stdout).toMatch(/── Task 1\/2: Check the clock in Tokyo[\s\S]*✓ current_time[\s\S]*── Task 2\/2: Name the day[\s\S]*── Writing the answer from the results/);
    expect(stdout).toContain('It is Sunday in Tokyo.');
    expect(stdout).toMatch(/steps:\s+3 of 20/);
  });

  it('--mode reflexion shows each attempt, check and reflection, and stops at its limit', async () => {
    const check = { kind: 'text' as const, content: JSON.stringify({ met: false, missing: 'It is not Monday in Tokyo.' }) };
    fake.script(
      { kind: 'text', content: 'Monday.' },
      check,
      { kind: 'text', content: JSON.stringify({ whatWentWrong: 'Guessed the day.', nextTime: 'Call current_time for Asia/Tokyo.' }) },
      { kind: 'text', content: 'Still Monday.' },
      check,
    );
    const { code, stdout } = await cairn(['run', '--mode', 'reflexion', 'What day is it in Tokyo?'], { ...env, CAIRN_REFLEXION_ATTEMPTS: '2' }, dir);
    expect(code).toBe(1);
    expect(stdout).toMatch(/── Attempt 1 of 2[\s\S]*── Goal not met yet\n {2}It is not Monday in Tokyo\.[\s\S]*── Reflection on attempt 1\n {2}Attempt 1: Guessed the day\. Next time: Call current_time for Asia\/Tokyo\.[\s\S]*── Attempt 2 of 2/);
    expect(stdout).toMatch(/status:\s+stopped — Stopped: 2 attempts did not meet the goal \(last check: It is not Monday in Tokyo\.\)\./);
    expect(JSON.stringify(fake.chatRequests()[3]?.messages[0])).toContain('Call current_time for Asia/Tokyo.');
  });

  it('asks before risky tools: without a terminal and without --yes the call is denied; --yes approves', async () => {
    const writeThenAnswer = () => { fake.script({ kind: 'tool_calls', calls: [{ name: 'write_file', arguments: { path: 'note.txt', content: 'hello' } }] }, { kind: 'text', content: 'Finished.' }); };
    const risky = { ...env, CAIRN_APPROVAL_RISK: 'medium' };
    const workspace = path.join(dir, 'approvals');
    writeThenAnswer();
    const denied = await cairn(['run', '--workspace', workspace, 'Write a note'], risky, dir);
    expect(denied.code).toBe(0);
    expect(denied.stderr).toContain('"write_file" needs approval and there is no terminal to ask, so it was not run. Use --yes to approve every request.');
    expect(denied.stdout).toContain('⛔ write_file not run: it needs approval and there is no one to ask');
    await expect(readdir(workspace)).resolves.toEqual([]);

    writeThenAnswer();
    const approved = await cairn(['run', '--yes', '--workspace', workspace, 'Write a note'], risky, dir);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toMatch(/🔐 write_file approved by --yes after \d+ ms/);
    await expect(readdir(workspace)).resolves.toEqual(['note.txt']);
  });

  it('--json prints exactly one object with status, answer, steps, usage and cost', async () => {
    timeThenAnswer();
    const { code, stdout } = await cairn(['run', '--json', 'What day is it in Tokyo?'], env, dir);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    expect(out).toMatchObject({ status: 'succeeded', answer: 'It is Sunday in Tokyo.', steps: 2, usage: { promptTokens: 700, completionTokens: 30 } });
    // gpt-4o-mini list price: $0.15 / $0.60 per million tokens.
    expect(out.costUsd).toBeCloseTo((700 * 0.15 + 30 * 0.6) / 1e6, 10);
    // Workspaces are kept under the data directory, one per run.
    expect(await readdir(path.join(env.CAIRN_DATA_DIR ?? '', 'workspaces'))).toContain(out.runId);
  });

  it('exits 1 with status "stopped" when --max-steps is reached, and cost null for an unpriced model', async () => {
    fake.respondWith((_b, i) => ({ kind: 'tool_calls', calls: [{ name: 'list_files', arguments: { path: `d${i}` } }] }));
    const { code, stdout } = await cairn(['run', '--json', '--max-steps', '2', 'Explore'], { ...env, CAIRN_MODEL: 'my-local-model' }, dir);
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'stopped', steps: 2, costUsd: null });
  });

  it('exits 1 with status "failed" and a clear message when the model server is unreachable', async () => {
    const { code, stdout } = await cairn(['run', '--json', 'Hi'], { ...env, OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', CAIRN_LLM_MAX_RETRIES: '0' }, dir);
    expect(code).toBe(1);
    const out = JSON.parse(stdout) as { status: string; reason: string };
    expect(out.status).toBe('failed');
    expect(out.reason).toMatch(/127\.0\.0\.1:9/);
  });

  it('explains every configuration problem at once, without a stack trace', async () => {
    const { code, stderr, stdout } = await cairn(['run', 'Hi'], { CAIRN_MAX_STEPS: 'lots', LOG_LEVEL: 'chatty' }, dir);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/CAIRN_MAX_STEPS: must be a number \(got "lots"\)/);
    expect(stderr).toMatch(/LOG_LEVEL: must be one of/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('names the missing model server settings', async () => {
    const { code, stderr } = await cairn(['run', 'Hi'], {}, dir);
    expect(code).toBe(2);
    expect(stderr).toMatch(/OPENAI_API_KEY: required/);
    expect(stderr).toMatch(/OPENAI_BASE_URL/);
  });

  it('rejects bad arguments with usage help', async () => {
    const bad = await cairn(['run', '--max-steps', 'zero', 'Hi'], env, dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-steps must be a whole number/);
    const noGoal = await cairn(['run'], env, dir);
    expect(noGoal.code).toBe(2);
    expect(noGoal.stderr).toMatch(/needs a goal/);
    const mode = await cairn(['run', '--mode', 'telepathy', 'Hi'], env, dir);
    expect(mode.stderr).toMatch(/--mode "telepathy" is not available/);
    const unknown = await cairn(['frobnicate'], env, dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown command "frobnicate"/);
  });
});

describe('cairn chat', () => {
  it('answers each line with the earlier turns as context', async () => {
    fake.script({ kind: 'text', content: 'Nice to meet you, Ada.' }, { kind: 'text', content: 'Your name is Ada.' });
    const { code, stdout } = await cairn(['chat'], env, dir, 'My name is Ada.\nWhat is my name?\n/exit\n');
    expect(code).toBe(0);
    expect(stdout).toContain('Nice to meet you, Ada.');
    expect(stdout).toContain('Your name is Ada.');
    const second = fake.chatRequests()[1]?.messages ?? [];
    expect(second.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(JSON.stringify(second)).toContain('Nice to meet you, Ada.');
  });
});
