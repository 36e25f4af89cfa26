import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_PATH, REPO_ROOT } from '../fakes/mcp-server.js';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openai-server.js';
import { searxngBody, startFakeSearxng } from '../fakes/searxng-server.js';
import { cairn } from './run-cli.js';

let fake: FakeOpenAi;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  fake = await startFakeOpenAi();
  dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-cli-tools-'));
  // mkdtemp makes it private; run_code's sandbox user (nobody, when tests run as root) must be able to pass through it.
  await chmod(dir, 0o755);
  env = { OPENAI_BASE_URL: fake.baseURL, CAIRN_MODEL: 'gpt-4o-mini', CAIRN_DATA_DIR: path.join(dir, 'data') };
});
afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

// Each test starts cairn processes (about 1.5 s each, several times that on a loaded machine).
describe('tools from configuration', { timeout: 60_000 }, () => {
  it('offers an MCP server’s tools from CAIRN_MCP_SERVERS and calls one end to end (approved with --yes)', async () => {
    const servers = [{ name: 'calc', transport: 'stdio', command: process.execPath, args: ['--import', 'tsx', FIXTURE_PATH], cwd: REPO_ROOT }];
    fake.reset();
    fake.script({ kind: 'tool_calls', calls: [{ name: 'calc__add', arguments: { a: 2, b: 40 } }] }, { kind: 'text', content: 'The sum is 42.' });
    const { code, stdout } = await cairn(['run', '--yes', 'Add 2 and 40'], { ...env, CAIRN_MCP_SERVERS: JSON.stringify(servers) }, dir);
    expect(code).toBe(0);
    expect(stdout).toMatch(/🔐 calc__add approved by --yes/);
    expect(stdout).toMatch(/✓ calc__add · .* 42/);
    const offered = (fake.chatRequests()[0]?.tools ?? []).map((t) => t.function.name);
    expect(offered).toContain('calc__add');
    expect(offered).not.toContain('web_search');
  });

  it('offers web_search when a SearXNG instance is configured, and searches it', async () => {
    const searxng = await startFakeSearxng();
    try {
      searxng.respond(() => ({ json: searxngBody([{ title: 'Cairn release notes', url: 'https://example.org/notes', content: 'Version 2 adds schedules.' }]) }));
      fake.reset();
      fake.script({ kind: 'tool_calls', calls: [{ name: 'web_search', arguments: { query: 'cairn release notes' } }] }, { kind: 'text', content: 'Version 2 adds schedules.' });
      const { code, stdout } = await cairn(['run', 'What is new in Cairn?'], { ...env, CAIRN_SEARXNG_URL: searxng.url }, dir);
      expect(code).toBe(0);
      expect(stdout).toMatch(/✓ web_search · .* 1\. Cairn release notes — https:\/\/example\.org\/notes/);
      expect(searxng.requests[0]?.query.get('q')).toBe('cairn release notes');
    } finally {
      await searxng.close();
    }
  });

  it('offers http_get, which refuses the host’s own loopback address', async () => {
    fake.reset();
    // The fake model server itself listens on 127.0.0.1: the agent must not reach it.
    fake.script({ kind: 'tool_calls', calls: [{ name: 'http_get', arguments: { url: fake.baseURL } }] }, { kind: 'text', content: 'I could not fetch it.' });
    // A set window: Cairn's own context-window probes would GET from the server too.
    const { code, stdout } = await cairn(['run', 'Fetch the local admin page'], { ...env, CAIRN_CONTEXT_TOKENS: '8192' }, dir);
    expect(code).toBe(0);
    expect(stdout).toMatch(/✗ http_get · .*Refused: 127\.0\.0\.1 is a loopback address/);
    const offered = (fake.chatRequests()[0]?.tools ?? []).map((t) => t.function.name);
    expect(offered).toEqual(expect.arrayContaining(['http_get', 'http_request']));
    expect(fake.requests.filter((r) => r.method === 'GET')).toEqual([]);
  });

  it('names a bad CAIRN_HTTP_ALLOWED_DOMAINS entry as a configuration problem', async () => {
    const { code, stderr } = await cairn(['run', 'Hi'], { ...env, CAIRN_HTTP_ALLOWED_DOMAINS: 'example.com/path' }, dir);
    expect(code).toBe(2);
    expect(stderr).toMatch(/CAIRN_HTTP_ALLOWED_DOMAINS: /);
  });

  it('offers run_code where the sandbox works, and runs Python in it (approved with --yes)', async () => {
    fake.reset();
    fake.script(
      { kind: 'tool_calls', calls: [{ name: 'run_code', arguments: { code: 'import os\nprint(6 * 7, os.path.exists("/etc/passwd"))' } }] },
      { kind: 'text', content: 'It printed 42.' },
    );
    const { code, stdout } = await cairn(['run', '--yes', 'Compute 6 times 7 in Python'], env, dir);
    expect(code).toBe(0);
    expect(stdout).toMatch(/🔐 run_code approved by --yes/);
    expect(stdout).toMatch(/✓ run_code · .*exit status: 0 .*42 False/);
  });

  it('does not offer run_code when it is off', async () => {
    fake.reset();
    fake.script({ kind: 'text', content: 'Hi.' });
    await cairn(['run', 'Hi'], { ...env, CAIRN_RUN_CODE: 'off' }, dir);
    expect((fake.chatRequests()[0]?.tools ?? []).map((t) => t.function.name)).not.toContain('run_code');
  });

  it('names a malformed CAIRN_MCP_SERVERS as a configuration problem', async () => {
    const { code, stderr } = await cairn(['run', 'Hi'], { ...env, CAIRN_MCP_SERVERS: '[{"name":"x"}]' }, dir);
    expect(code).toBe(2);
    expect(stderr).toMatch(/CAIRN_MCP_SERVERS: /);
  });
});
