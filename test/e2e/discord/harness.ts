import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect } from 'vitest';
import { createApp, type App } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { DiscordBot } from '../../../src/discord/bot.js';
import { silentLogger } from '../../../src/log.js';
import type { FakeDiscord, FakeDiscordOptions, FakeInteraction, FakeMessage } from '../../fakes/discord/index.js';
import { startFakeDiscord } from '../../fakes/discord/index.js';
import type { FakeOpenAi } from '../../fakes/openai-server.js';

export interface BotHarness {
  discord: FakeDiscord;
  bot: DiscordBot;
  app: App;
  dataDir: string;
  /** Starts another bot on the same data (a restart); the previous one must be stopped or crashed. */
  restart(): Promise<DiscordBot>;
}

/**
 * The real bot (real discord.js client, real openai SDK, real LanceDB) against the fake Discord
 * and the fake model server. Everything is torn down after each test.
 */
export function useBot(
  openai: FakeOpenAi,
): (options?: { env?: Record<string, string> | ((discord: FakeDiscord) => Record<string, string>); discord?: FakeDiscordOptions; tokenLifetimeMs?: number }) => Promise<BotHarness> {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  return async (options = {}) => {
    const discord = await startFakeDiscord(options.discord);
    cleanups.push(() => discord.close());
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cairn-bot-test-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const config = loadConfig(
      {
        DISCORD_TOKEN: discord.token,
        DISCORD_REST_URL: discord.restApi,
        DISCORD_GUILD_ID: discord.guildId,
        OPENAI_BASE_URL: openai.baseURL,
        CAIRN_MODEL: 'gpt-4o-mini',
        CAIRN_DATA_DIR: dataDir,
        CAIRN_LLM_MAX_RETRIES: '1',
        CAIRN_SHUTDOWN_GRACE_S: '1',
        // Settings naming the fake's ids (allow-lists, say) are made once it has them.
        ...(typeof options.env === 'function' ? options.env(discord) : options.env),
      },
      ['llm', 'discord'],
    );
    const start = async () => {
      const app = await createApp(config, silentLogger());
      const bot = await DiscordBot.start(app, options.tokenLifetimeMs === undefined ? {} : { tokenLifetimeMs: options.tokenLifetimeMs });
      let stopped = false;
      cleanups.push(async () => {
        if (!stopped) await bot.stop();
      });
      const stop = bot.stop.bind(bot);
      bot.stop = async () => {
        stopped = true;
        await stop();
      };
      return { app, bot };
    };
    const first = await start();
    return {
      discord,
      bot: first.bot,
      app: first.app,
      dataDir,
      restart: async () => (await start()).bot,
    };
  };
}

/** Buttons on a message, by emoji or label. */
export function buttons(message: FakeMessage | undefined): { customId: string; emoji?: string; label?: string }[] {
  const out: { customId: string; emoji?: string; label?: string }[] = [];
  for (const row of (message?.components ?? []) as { components?: { custom_id?: string; emoji?: { name?: string }; label?: string }[] }[]) {
    for (const c of row.components ?? []) {
      if (c.custom_id !== undefined) out.push({ customId: c.custom_id, ...(c.emoji?.name === undefined ? {} : { emoji: c.emoji.name }), ...(c.label === undefined ? {} : { label: c.label }) });
    }
  }
  return out;
}

/** Polls an async probe (e.g. a database read) until it returns something truthy. */
export async function eventually<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The text of a private reply, however it was given (reply, or defer then edit); asserts it was ephemeral. */
export async function privateText(i: FakeInteraction, discord: FakeDiscord): Promise<string> {
  const ack = await i.acknowledged();
  expect(i.ephemeral()).toBe(true);
  if (ack.type === 5) return discord.waitFor(() => i.original()?.content);
  return (ack.data as { content?: string } | undefined)?.content ?? '';
}
