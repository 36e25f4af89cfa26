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
  dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-cli-schedule-abuse-'));
  env = { OPENAI_BASE_URL: fake.baseURL, CAIRN_MODEL: 'gpt-4o-mini', CAIRN_DATA_DIR: path.join(dir, 'data') };
});
afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

const WHERE = ['--channel', '123456789012345678', '--guild', '223456789012345678', '--creator', '323456789012345678'];

// Before the bounded check, node-cron expanded "0-99999999999" into an array before checking its
// bounds and the process ran out of heap; the message below comes from the check before it.
describe('cairn schedule add with an abusive cron expression', { timeout: 60_000 }, () => {
  it('exits 2 naming the value and the range it broke', async () => {
    const huge = await cairn(['schedule', 'add', 'Report', '--cron', '0-99999999999 * * * *', ...WHERE], env, dir);
    expect(huge.code).toBe(2);
    expect(huge.stderr).toContain('cairn: "0-99999999999 * * * *" is not a valid cron expression (minute: 99999999999 is out of range (0–59)).');
    // The terminal has no 100-character limit; the check has its own.
    const long = await cairn(['schedule', 'add', 'Report', '--cron', `${'0,'.repeat(20_000)}0 * * * *`, ...WHERE], env, dir);
    expect(long.code).toBe(2);
    expect(long.stderr).toContain('is not a valid cron expression (it is 40009 characters long; at most 1000 are allowed).');
  });
});
