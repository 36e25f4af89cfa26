import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { cairn } from './run-cli.js';

const fake = useFakeOpenAi();
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-memory-cli-'));
  env = { OPENAI_BASE_URL: fake.baseURL, CAIRN_DATA_DIR: path.join(dir, 'data') };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Each test starts cairn processes (about 1.5 s each, several times that on a loaded machine).
describe('cairn memory', { timeout: 60_000 }, () => {
  it('shows, searches, exports and forgets what runs remembered', async () => {
    fake.script(
      { kind: 'tool_calls', calls: [{ name: 'memory_save', arguments: { text: 'The staging database password rotates every 30 days.' } }] },
      { kind: 'text', content: 'Saved.' },
      { kind: 'text', content: 'It rotates every 30 days.' },
    );
    expect((await cairn(['run', 'Remember: the staging database password rotates every 30 days'], env, dir)).code).toBe(0);
    // The second run (a new process) is told the fact from memory.
    expect((await cairn(['run', 'How often does the staging password rotate?'], env, dir)).code).toBe(0);
    expect(JSON.stringify(fake.chatRequests()[2]?.messages[0])).toContain('rotates every 30 days');

    const stats = JSON.parse((await cairn(['memory', 'stats', '--json'], env, dir)).stdout) as { memories: number; byKind: Record<string, number>; episodes: number; embedder: { id: string } };
    expect(stats).toMatchObject({ memories: 5, byKind: { fact: 1, turn: 4 }, episodes: 2, embedder: { id: 'local-v1' } });

    const search = await cairn(['memory', 'search', 'staging password rotation'], env, dir);
    expect(search.code).toBe(0);
    expect(search.stdout).toMatch(/m-\S+ {2}fact .* user:local {2}The staging database password rotates every 30 days\./);
    expect(search.stdout).toMatch(/score [\d.]+ = rrf [\d.]+ × boost [\d.]+ · vector #\d+ \(cos [\d.]+\) · text #\d+ \(bm25 [\d.]+\)/);

    const exported = JSON.parse((await cairn(['memory', 'export', '--user', 'local'], env, dir)).stdout) as { memories: unknown[]; episodes: unknown[]; conversationTurns: unknown[] };
    expect(exported.memories).toHaveLength(5);
    expect(exported.episodes).toHaveLength(2);
    // `cairn run` keeps no conversation; the field is there all the same.
    expect(exported.conversationTurns).toEqual([]);

    const refused = await cairn(['memory', 'forget', '--user', 'local'], env, dir);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/cannot be undone\. Add --yes/);
    const forgot = await cairn(['memory', 'forget', '--user', 'local', '--yes'], env, dir);
    expect(forgot.stdout).toMatch(/Forgot user local: 5 memories, 0 working blocks, 2 runs, 0 conversation turns\./);
    expect((await cairn(['memory', 'search', 'staging password'], env, dir)).stdout).toMatch(/No memories match/);
  });

  it('refuses a changed embedder with a way out, and reembed fixes it', async () => {
    const local = { ...env, CAIRN_DATA_DIR: path.join(dir, 'data-2') };
    fake.script({ kind: 'tool_calls', calls: [{ name: 'memory_save', arguments: { text: 'Our SLA is 99.9 percent.' } }] }, { kind: 'text', content: 'ok' });
    expect((await cairn(['run', 'Remember our SLA'], local, dir)).code).toBe(0);

    const remote = { ...local, CAIRN_EMBEDDINGS: 'text-embedding-3-small' };
    const refused = await cairn(['memory', 'search', 'SLA'], remote, dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/embedded with "local-v1" \(356 dimensions\).*npx cairn memory reembed/);
    const fixed = await cairn(['memory', 'reembed'], remote, dir);
    expect(fixed.stdout).toMatch(/Re-embedded 3 memories: local-v1 \(356 dimensions\) → openai:text-embedding-3-small \(64 dimensions\)/);
    expect((await cairn(['memory', 'search', 'SLA'], remote, dir)).stdout).toContain('Our SLA is 99.9 percent.');
  });

  it('explains bad memory commands', async () => {
    expect((await cairn(['memory', 'search'], env, dir)).stderr).toMatch(/needs a query/);
    expect((await cairn(['memory', 'list', '--kind', 'gossip'], env, dir)).stderr).toMatch(/--kind must be one of turn, fact, note, lesson, report/);
    expect((await cairn(['memory', 'export'], env, dir)).stderr).toMatch(/needs --user/);
    expect((await cairn(['memory', 'shred'], env, dir)).stderr).toMatch(/Unknown memory command "shred"/);
  });
});
