/**
 * Cairn as its own processes, as `npm start` (or a deployment) runs them, against the fake
 * Discord and the fake model server; and reads of what they left in the data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cairnEnv } from '../../support/cairn-env.js';
import { freePort } from '../../support/free-port.js';
import { silentLogger } from '../../../src/log.js';
import { createEmbedder } from '../../../src/memory/embedders/index.js';
import { Memory } from '../../../src/memory/memory.js';
import { startFakeDiscord, type FakeDiscord } from '../../fakes/discord/index.js';

const BIN = fileURLToPath(new URL('../../../src/bin/cairn.js', import.meta.url));

export type Cleanups = (() => Promise<unknown>)[];

/** The fake Discord, a data directory and the environment a Cairn process runs with. */
export async function processSetup(cleanups: Cleanups, openaiBaseURL: string): Promise<{ discord: FakeDiscord; dataDir: string; env: Record<string, string> }> {
  const discord = await startFakeDiscord();
  cleanups.push(() => discord.close());
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cairn-process-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const env = { ...cairnEnv(discord, dataDir, openaiBaseURL), CAIRN_SHUTDOWN_GRACE_S: '1', LOG_LEVEL: 'warn' };
  return { discord, dataDir, env };
}

export interface CairnProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr(): string;
}

/** Spawns `cairn <args>`; killed (SIGKILL) at cleanup if still running. */
export function spawnCairn(args: string[], env: Record<string, string>, cleanups: Cleanups): CairnProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
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
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { child, exited, stderr: () => stderr };
}

/** `cairn bot` (with `args`); resolves once it has registered its commands (it is connected). */
export async function startBotProcess(discord: FakeDiscord, env: Record<string, string>, cleanups: Cleanups, args: string[] = []): Promise<CairnProcess> {
  const registered = discord.requests.filter((r) => r.method === 'PUT').length;
  const started = spawnCairn(['bot', ...args], env, cleanups);
  await discord.waitFor(() => discord.requests.filter((r) => r.method === 'PUT').length > registered || started.child.exitCode !== null, 20_000);
  if (started.child.exitCode !== null) throw new Error(`the bot exited early: ${started.stderr()}`);
  return started;
}


async function withMemory<T>(dataDir: string, read: (memory: Memory) => Promise<T>): Promise<T> {
  const memory = await Memory.open({ uri: dataDir, embedder: await createEmbedder('local', { timeoutMs: 1_000, maxRetries: 0 }, silentLogger()), log: silentLogger() });
  try {
    return await read(memory);
  } finally {
    await memory.close();
  }
}

export function episodeStatus(dataDir: string, runId: string): Promise<string | undefined> {
  return withMemory(dataDir, async (memory) => (await memory.episodes.get(runId))?.status);
}

/** Working-memory text runs wrote in a place. */
export function workingText(dataDir: string, scope: { userId: string; channelId: string }): Promise<string> {
  return withMemory(dataDir, async (memory) => (await memory.working.blocksFor(scope)).map((b) => b.text).join('\n'));
}

export { freePort };
