import type { FakeDiscord } from '../fakes/discord/index.js';

/** What a Cairn process needs to run against the fake Discord and model, on `dataDir` (and nothing from the outer environment but PATH). */
export function cairnEnv(discord: FakeDiscord, dataDir: string, openaiBaseURL: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: dataDir,
    DISCORD_TOKEN: discord.token,
    DISCORD_REST_URL: discord.restApi,
    DISCORD_GUILD_ID: discord.guildId,
    OPENAI_BASE_URL: openaiBaseURL,
    CAIRN_DATA_DIR: dataDir,
  };
}
