import { describe, expect, it } from 'vitest';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { useBot } from './harness.js';

const openai = useFakeOpenAi();
const startBot = useBot(openai);

describe('/memory export over the attachment limit', () => {
  it('says the export is too large and how to get it from the CLI, and /memory stats counts the runs', async () => {
    const { discord, app } = await startBot();
    const alice = discord.users.alice;
    const scope = { userId: alice.id, channelId: discord.channels.general, guildId: discord.guildId };
    // Nine runs with a 1 MB answer each: over the 8 MB limit.
    const answer = 'a'.repeat(1024 * 1024);
    for (let i = 0; i < 9; i++) {
      const id = `big-${i}`;
      await app.memory.episodes.begin({ id, goal: 'write a lot', mode: 'react', trigger: 'slash', scope, visibility: 'channel', startedAt: 1_000 + i });
      await app.memory.episodes.finish(id, { status: 'succeeded', steps: [], answer, reason: null, usage: { promptTokens: 1, completionTokens: 1 }, costUsd: 0, endedAt: 2_000 + i });
    }

    const exported = discord.slash({ user: alice, channelId: discord.channels.general, name: 'memory', subcommand: 'export' });
    const text = await discord.waitFor(() => exported.original()?.content);
    expect(exported.ephemeral()).toBe(true);
    expect(text).toMatch(/larger than 8 MB/);
    expect(text).toContain(`npx cairn memory export --user ${alice.id}`);
    expect(exported.original()?.attachments ?? []).toHaveLength(0);

    const stats = await discord.slash({ user: alice, channelId: discord.channels.general, name: 'memory', subcommand: 'stats' }).acknowledged();
    expect((stats.data as { content?: string } | undefined)?.content).toMatch(/Runs: 9\./);
  });
});
