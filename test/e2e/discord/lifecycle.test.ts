import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { createEmbedder } from '../../../src/memory/embedders/index.js';
import { Memory } from '../../../src/memory/memory.js';
import { startFakeDiscord, type FakeDiscord } from '../../fakes/discord/index.js';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';

const BIN = fileURLToPath(new URL('../../../src/bin/cairn.js', import.meta.url));
const openai = useFakeOpenAi();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function setup(): Promise<{ discord: FakeDiscord; dataDir: string; env: Record<string, string> }> {
  const discord = await startFakeDiscord();
  cleanups.push(() => discord.close());
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cairn-lifecycle-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: dataDir,
    DISCORD_TOKEN: discord.token,
    DISCORD_REST_URL: discord.restApi,
    DISCORD_GUILD_ID: discord.guildId,
    OPENAI_BASE_URL: openai.baseURL,
    CAIRN_DATA_DIR: dataDir,
    CAIRN_SHUTDOWN_GRACE_S: '1',
    LOG_LEVEL: 'warn',
  };
  return { discord, dataDir, env };
}

/** `cairn bot` as its own process, as `npm start` runs it; resolves once it has registered its commands. */
async function startBotProcess(discord: FakeDiscord, env: Record<string, string>): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  const registered = discord.requests.filter((r) => r.method === 'PUT').length;
  const child = spawn(process.execPath, [BIN, 'bot'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      resolve(code);
    });
  });
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  await discord.waitFor(() => discord.requests.filter((r) => r.method === 'PUT').length > registered || child.exitCode !== null, 20_000);
  if (child.exitCode !== null) throw new Error(`the bot exited early: ${stderr}`);
  return { child, exited };
}

async function episodeStatus(dataDir: string, runId: string): Promise<string | undefined> {
  const memory = await Memory.open({ uri: dataDir, embedder: await createEmbedder('local', { timeoutMs: 1_000, maxRetries: 0 }, silentLogger()), log: silentLogger() });
  try {
    return (await memory.episodes.get(runId))?.status;
  } finally {
    await memory.close();
  }
}

describe('the bot process', () => {
  it('on SIGTERM interrupts a running run, says so in its channel, and exits within 10 s', async () => {
    const { discord, dataDir, env } = await setup();
    const { child, exited } = await startBotProcess(discord, env);
    openai.script({ kind: 'hang' });
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'a long job' } });
    await discord.waitFor(() => (openai.chatRequests().length > 0 ? true : undefined), 10_000);
    const runId = await discord.waitFor(() => /run `([^`]+)`/.exec(i.original()?.content ?? '')?.[1]);

    const signalled = Date.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect(discord.channelMessages(discord.channels.general).some((m) => m.content.includes(`your run \`${runId}\` was interrupted`))).toBe(true);
    expect(await episodeStatus(dataDir, runId)).toBe('interrupted');
  }, 40_000);

  it('after a crash mid-run, the next start marks the run interrupted and announces it', async () => {
    const { discord, dataDir, env } = await setup();
    const first = await startBotProcess(discord, env);
    openai.script({ kind: 'hang' });
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'a job that will be cut off' } });
    await discord.waitFor(() => (openai.chatRequests().length > 0 ? true : undefined), 10_000);
    const runId = await discord.waitFor(() => /run `([^`]+)`/.exec(i.original()?.content ?? '')?.[1]);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startBotProcess(discord, env);
    const notice = await discord.waitFor(() => discord.channelMessages(discord.channels.general).find((m) => m.content.includes(`\`${runId}\` was interrupted when Cairn restarted`)), 10_000);
    expect(notice.content).toContain(`<@${discord.users.alice.id}>`);
    expect(notice.content).not.toContain('a job that will be cut off'); // the goal may have been private
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(await episodeStatus(dataDir, runId)).toBe('interrupted');
  }, 60_000);
});

describe('cairn deploy-commands', () => {
  it('registers the slash commands in a guild over REST alone', async () => {
    const { discord, env } = await setup();
    const { DISCORD_GUILD_ID: _unused, ...withoutGuild } = env;
    const child = spawn(process.execPath, [BIN, 'deploy-commands', '--guild', discord.guildId], { env: withoutGuild, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => {
        resolve(c);
      });
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/Registered 8 commands in guild \d+ \(available now\)/);
    expect((discord.registeredCommands({ guildId: discord.guildId }) as { name: string }[]).map((c) => c.name).sort()).toEqual(['Ask Cairn', 'agent', 'config', 'help', 'memory', 'runs', 'schedule', 'usage']);
    expect(discord.identify()).toBeUndefined(); // no gateway connection was needed
  });
});
