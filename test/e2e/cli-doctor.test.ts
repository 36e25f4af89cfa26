import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../../src/config.js';
import { discordChecks } from '../../src/console/doctor-checks.js';
import { bounded, runDoctor, type CheckResult } from '../../src/console/doctor.js';
import { silentLogger } from '../../src/log.js';
import { startFakeDiscord, type FakeDiscord } from '../fakes/discord/index.js';
import { startFakeOpenAi, type ChatCompletionRequestBody, type FakeOpenAi, type ScriptedReply } from '../fakes/openai-server.js';
import { cairn } from './run-cli.js';

const KEY = 'sk-doctor-secret-value';
let fake: FakeOpenAi;
let discord: FakeDiscord;
let dir: string;
let base: Record<string, string>;

/** A healthy model: calls the tool when given one, writes the JSON when asked for it. */
function healthy(body: ChatCompletionRequestBody): ScriptedReply {
  if ((body.tools?.length ?? 0) > 0) return { kind: 'tool_calls', calls: [{ name: 'ping', arguments: { text: 'pong' } }] };
  return { kind: 'text', content: '{"ok": true}' };
}

beforeAll(async () => {
  [fake, discord] = await Promise.all([startFakeOpenAi({ apiKey: KEY, discovery: { vllmMaxModelLen: 32_768 } }), startFakeDiscord()]);
  dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-doctor-test-'));
  base = { OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: KEY, CAIRN_MODEL: 'fake-model', CAIRN_DATA_DIR: path.join(dir, 'data') };
});
afterAll(async () => {
  await Promise.all([fake.close(), discord.close()]);
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  fake.reset();
  fake.respondWith(healthy);
});

/** The row of a printed table: its status word and the rest of the line. */
function row(stdout: string, name: string): { status: string; detail: string; fix: string | undefined } {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => l.startsWith(`${name}  `));
  if (at < 0) throw new Error(`no row "${name}" in:\n${stdout}`);
  const [status = '', ...detail] = (lines[at] ?? '').slice(name.length).trim().split(/\s+/);
  const next = lines[at + 1]?.trim() ?? '';
  return { status, detail: detail.join(' '), fix: next.startsWith('fix: ') ? next.slice(5) : undefined };
}

/** Asserts a row: its status, and that its detail and fix contain (or match) what is given. */
function expectRow(stdout: string, name: string, status: string, detail?: string | RegExp, fix?: string | RegExp): void {
  const found = row(stdout, name);
  expect(found.status, `${name}: ${found.detail}`).toBe(status);
  if (typeof detail === 'string') expect(found.detail).toContain(detail);
  else if (detail !== undefined) expect(found.detail).toMatch(detail);
  if (typeof fix === 'string') expect(found.fix).toContain(fix);
  else if (fix !== undefined) expect(found.fix).toMatch(fix);
}

const Report = z.strictObject({
  ok: z.boolean(),
  checks: z.array(z.strictObject({ name: z.string(), status: z.enum(['ok', 'warn', 'fail', 'skip']), detail: z.string(), fix: z.string().optional() })),
});

// Four cairn processes in all (each about 1.5 s, several times that on a loaded machine).
describe('cairn doctor', { timeout: 60_000 }, () => {
  it('a healthy setup exits 0 with a row per check, a fix for each warning and no secret shown', async () => {
    const env = { ...base, DISCORD_TOKEN: discord.token, DISCORD_REST_URL: discord.restApi };
    const { code, stdout } = await cairn(['doctor'], env, dir);
    expect(code, stdout).toBe(0);
    expect(stdout).toMatch(/^CHECK\s+STATUS\s+DETAIL/);
    expectRow(stdout, 'model server', 'ok', /answered GET \/models in \d+ ms \(3 models\)/);
    expectRow(stdout, 'model listed', 'ok', 'CAIRN_MODEL "fake-model" is served');
    expectRow(stdout, 'native tool calls', 'ok', 'the model called the tool (CAIRN_TOOL_CALLING=auto)');
    expectRow(stdout, 'JSON output', 'ok', 'json_schema');
    expectRow(stdout, 'context length', 'ok', '32,768 tokens (from vllm /v1/models)');
    expectRow(stdout, 'embeddings', 'ok', 'local-v1');
    expectRow(stdout, 'discord token', 'ok', discord.botUserId);
    expectRow(stdout, 'discord intents', 'ok', `CAIRN_MESSAGE_CONTENT=off: Cairn asks for no privileged intent; Message Content intent is off for Cairn (not needed)`);
    // Whether bubblewrap works depends on the machine; either way the bot runs.
    expect(['ok', 'WARN']).toContain(row(stdout, 'sandbox').status);
    expectRow(stdout, 'data directory', 'ok', 'LanceDB opens');
    expectRow(stdout, 'web search', 'WARN', 'web_search is not offered', 'CAIRN_SEARXNG_URL');
    expect(stdout).toMatch(/Cairn can run \(/);
    expect(stdout).not.toContain(KEY);
    expect(stdout).not.toContain(discord.token);
    // One tiny chat with one tool and tool_choice, as runs send it; one json_schema request.
    const chats = fake.chatRequests();
    expect(chats.find((c) => c.tools?.length === 1)).toMatchObject({ tool_choice: 'auto', tools: [{ function: { name: 'ping' } }] });
    expect(chats.find((c) => c.response_format !== undefined)).toMatchObject({ response_format: { type: 'json_schema' } });
  });

  it('--json: a server refusing tools is a warning (prompt mode) and still exits 0; remote embeddings report their dimension', async () => {
    fake.respondWith((body) =>
      (body.tools?.length ?? 0) > 0 ? { kind: 'error', status: 400, message: 'registry.ollama.ai/library/fake-model does not support tools' } : healthy(body),
    );
    const env = { ...base, CAIRN_EMBEDDINGS: 'fake-embedding', CAIRN_CONTEXT_TOKENS: '16384', CAIRN_RUN_CODE: 'off', CAIRN_SEARXNG_URL: 'http://127.0.0.1:9/' };
    const { code, stdout } = await cairn(['doctor', '--json'], env, dir);
    expect(code, stdout).toBe(0);
    const report = Report.parse(JSON.parse(stdout));
    expect(report.ok).toBe(true);
    const by = (name: string): CheckResult | undefined => report.checks.find((c) => c.name === name);
    expect(report.checks.map((c) => c.name)).toEqual([
      'model server', 'model listed', 'native tool calls', 'JSON output', 'context length', 'vision', 'embeddings', 'discord', 'sandbox', 'data directory', 'web search',
    ]);
    const tools = by('native tool calls');
    expect(tools?.status).toBe('warn');
    expect(tools?.detail).toBe('the server refused tools: "registry.ollama.ai/library/fake-model does not support tools"');
    expect(tools?.fix).toContain('prompt mode will be used (CAIRN_TOOL_CALLING=auto)');
    expect(by('JSON output')?.status).toBe('ok');
    // CAIRN_CONTEXT_TOKENS wins over what the server says; the row names where the number came from.
    expect(by('context length')).toEqual({ name: 'context length', status: 'ok', detail: '16,384 tokens (from CAIRN_CONTEXT_TOKENS)' });
    expect(by('embeddings')?.status).toBe('ok');
    expect(by('embeddings')?.detail).toContain('"fake-embedding"');
    expect(by('embeddings')?.detail).toContain('(64 dimensions)');
    expect(by('discord')?.status).toBe('skip');
    expect(by('discord')?.detail).toContain('DISCORD_TOKEN is not set: Discord checks skipped');
    expect(by('sandbox')).toEqual({ name: 'sandbox', status: 'skip', detail: 'CAIRN_RUN_CODE=off: run_code is not offered' });
    expect(by('web search')).toEqual({ name: 'web search', status: 'ok', detail: 'configured: SearXNG at 127.0.0.1:9' });
  });

  it('a bad API key, an unwritable data directory and a bad Discord token: exit 1, each problem named with its fix', async () => {
    const file = path.join(dir, 'a-file');
    await writeFile(file, 'not a directory');
    const badToken = 'bad.discord.token-0123456789abcdef';
    const env = { ...base, OPENAI_API_KEY: 'sk-wrong-key-value', CAIRN_DATA_DIR: path.join(file, 'data'), DISCORD_TOKEN: badToken, DISCORD_REST_URL: discord.restApi, CAIRN_RUN_CODE: 'off' };
    const { code, stdout } = await cairn(['doctor'], env, dir);
    expect(code, stdout).toBe(1);
    expectRow(stdout, 'model server', 'FAIL', 'refused the API key (401)', 'OPENAI_API_KEY');
    expectRow(stdout, 'model listed', 'skip', 'skipped: the model server did not answer');
    expectRow(stdout, 'native tool calls', 'skip', 'skipped: the model server did not answer');
    expectRow(stdout, 'JSON output', 'skip');
    expectRow(stdout, 'data directory', 'FAIL', /is not writable \((ENOTDIR|EEXIST)\)/, 'CAIRN_DATA_DIR');
    expectRow(stdout, 'discord token', 'FAIL', 'Discord refused DISCORD_TOKEN (401 Unauthorized)', 'Reset Token');
    expect(stdout).toMatch(/Cairn cannot run until the failed checks are fixed \(.*3 failed/);
    expect(stdout).not.toContain('sk-wrong-key-value');
    expect(stdout).not.toContain(badToken);
  });

  it('a model server that is down: exit 1 with "cannot reach" and where to point OPENAI_BASE_URL, quickly', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => { resolve(); }));
    const env = { ...base, OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, CAIRN_RUN_CODE: 'off' };
    const started = Date.now();
    const { code, stdout } = await cairn(['doctor'], env, dir);
    expect(code, stdout).toBe(1);
    expectRow(stdout, 'model server', 'FAIL', `cannot reach http://127.0.0.1:${port}/v1`, 'OPENAI_BASE_URL');
    expectRow(stdout, 'native tool calls', 'skip');
    expectRow(stdout, 'context length', 'WARN', '8,192 tokens (from default)', 'CAIRN_CONTEXT_TOKENS');
    // No deadline is waited out: a refused connection is reported at once.
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe('doctor checks in-process', () => {
  it('extra checks are reported after the model rows; a hang becomes a timeout row', async () => {
    const config = loadConfig({ ...base, CAIRN_RUN_CODE: 'off' }, ['llm'], dir);
    const hanging = () => bounded({ name: 'extra', timeoutMs: 500, onTimeout: 'warn', timeoutFix: 'try again' }, () => new Promise<never>(() => undefined));
    const results = await runDoctor(config, silentLogger(), { extraChecks: [hanging] });
    const names = results.map((r) => r.name);
    expect(names.indexOf('extra')).toBe(names.indexOf('context length') + 1);
    expect(results.find((r) => r.name === 'extra')).toEqual({ name: 'extra', status: 'warn', detail: 'no answer within 0.5 s', fix: 'try again' });
  });

  it('CAIRN_MESSAGE_CONTENT=on: fails with the fix when the application lacks the Message Content intent, passes when it has it', async () => {
    // The Discord rows alone, in-process: the rest of the doctor is covered above.
    const intents = async (extra: Record<string, string>, fake: FakeDiscord = discord) =>
      (await discordChecks(loadConfig({ ...base, DISCORD_REST_URL: fake.restApi, DISCORD_TOKEN: fake.token, ...extra }, ['llm'], dir))).find((r) => r.name === 'discord intents');

    // The main fake's application has no privileged intent.
    const missing = await intents({ CAIRN_MESSAGE_CONTENT: 'on' });
    expect(missing).toMatchObject({ status: 'fail', detail: 'CAIRN_MESSAGE_CONTENT=on asks for the Message Content intent, but it is not enabled for Cairn: Discord would refuse the connection (close code 4014)' });
    expect(missing?.fix).toContain('Bot → Privileged Gateway Intents → Message Content Intent');
    expect(missing?.fix).toContain('or set CAIRN_MESSAGE_CONTENT=off');

    const approved = await startFakeDiscord({ privilegedIntents: ['MessageContent'] });
    try {
      // An app under 100 servers has the LIMITED flag (1 << 19) once the switch is on.
      expect(await intents({ CAIRN_MESSAGE_CONTENT: 'on' }, approved)).toEqual({
        name: 'discord intents',
        status: 'ok',
        detail: 'CAIRN_MESSAGE_CONTENT=on asks for the Message Content intent; it is enabled for Cairn (under 100 servers)',
      });
      // Off, the flag is reported but not needed.
      expect(await intents({ CAIRN_MESSAGE_CONTENT: 'off' }, approved)).toMatchObject({
        status: 'ok',
        detail: 'CAIRN_MESSAGE_CONTENT=off: Cairn asks for no privileged intent; Message Content intent is enabled for Cairn (not needed)',
      });
    } finally {
      await approved.close();
    }
  });

  it('a check that throws is a fail row, not a crash', async () => {
    const rows = await bounded({ name: 'broken', timeoutMs: 1_000, onTimeout: 'warn' }, () => Promise.reject(new Error('boom')));
    expect(rows).toEqual([{ name: 'broken', status: 'fail', detail: 'the check itself failed: boom' }]);
  });
});
