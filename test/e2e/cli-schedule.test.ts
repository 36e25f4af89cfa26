import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openai-server.js';
import { cairn } from './run-cli.js';

let fake: FakeOpenAi;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  fake = await startFakeOpenAi();
  dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-cli-schedule-'));
  env = { OPENAI_BASE_URL: fake.baseURL, CAIRN_MODEL: 'gpt-4o-mini', CAIRN_DATA_DIR: path.join(dir, 'data') };
});
afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

const CHANNEL = '123456789012345678';
const WHERE = ['--channel', CHANNEL, '--guild', '223456789012345678', '--creator', '323456789012345678'];

// Each test starts cairn processes (about 1.5 s each, several times that on a loaded machine).
describe('cairn schedule', { timeout: 60_000 }, () => {
  it('refuses bad input with a clear message and exit code 2', async () => {
    const noCron = await cairn(['schedule', 'add', 'Report'], env, dir);
    expect(noCron.code).toBe(2);
    expect(noCron.stderr).toContain('needs --cron');
    const noCreator = await cairn(['schedule', 'add', 'Report', '--cron', '0 9 * * *', '--channel', CHANNEL, '--guild', '223456789012345678'], env, dir);
    expect(noCreator.code).toBe(2);
    expect(noCreator.stderr).toContain('needs --creator <user id>');
    const badCron = await cairn(['schedule', 'add', 'Report', '--cron', '0 9 * *', ...WHERE], env, dir);
    expect(badCron.code).toBe(2);
    expect(badCron.stderr).toContain('"0 9 * *" is not a valid cron expression (expected 5 or 6 fields but got 4)');
    const badZone = await cairn(['schedule', 'add', 'Report', '--cron', '0 9 * * *', ...WHERE, '--timezone', 'Oslo'], env, dir);
    expect(badZone.code).toBe(2);
    expect(badZone.stderr).toContain('"Oslo" is not an IANA time zone');
    const badNotify = await cairn(['schedule', 'add', 'Report', '--cron', '0 9 * * *', ...WHERE, '--notify', 'sometimes'], env, dir);
    expect(badNotify.code).toBe(2);
    expect(badNotify.stderr).toContain('--notify must be one of always, on-change, on-failure (got "sometimes")');
    const unknown = await cairn(['schedule', 'pause', 'zzzzzz'], env, dir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('there is no schedule zzzzzz');
  });

  it('adds, lists, pauses, resumes, runs and removes a schedule', async () => {
    const added = await cairn(['schedule', 'add', 'Summarise the status page', '--cron', '0 9 * * 1-5', '--timezone', 'Europe/Oslo', ...WHERE, '--notify', 'on-change'], env, dir);
    expect(added.code).toBe(0);
    const id = /Added schedule ([0-9a-z]{6}): "0 9 \* \* 1-5" \(Europe\/Oslo\), notify on-change, channel 123456789012345678\./.exec(added.stdout)?.[1] ?? '';
    expect(id).not.toBe('');
    expect(added.stdout).toMatch(/Next runs: \d{4}-\d\d-\d\dT0[78]:00:00\.000Z \(.* 09:00:00 Europe\/Oslo\), /);

    expect((await cairn(['schedule', 'pause', id], env, dir)).stdout).toContain(`Paused schedule ${id}.`);
    expect((await cairn(['schedule', 'list'], env, dir)).stdout).toMatch(new RegExp(`${id}  paused  "0 9 \\* \\* 1-5" Europe/Oslo  notify on-change`));
    expect((await cairn(['schedule', 'resume', id], env, dir)).stdout).toMatch(new RegExp(`Resumed schedule ${id}; next run \\d{4}-`));

    fake.script({ kind: 'text', content: 'All systems operational.' });
    const ran = await cairn(['schedule', 'run', id], env, dir);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('All systems operational.');
    const listed = JSON.parse((await cairn(['schedule', 'list', '--json'], env, dir)).stdout) as { id: string; status: string; lastStatus: string; lastReport: string; lastDeliveryAt: number | null }[];
    // A terminal run is a try-out: recorded as run, but it moves neither on-change nor failures.
    expect(listed).toEqual([expect.objectContaining({ id, status: 'active', lastStatus: 'succeeded', lastReport: null, lastDeliveryAt: null, consecutiveFailures: 0 })]);

    expect((await cairn(['schedule', 'remove', id], env, dir)).stdout).toContain(`Removed schedule ${id}.`);
    expect((await cairn(['schedule', 'list'], env, dir)).stdout).toContain('No schedules.');
  });
});
