import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dmKey, messageKey } from '../../../src/conversations/keys.js';
import type { FakeDiscord, FakeUser } from '../../fakes/discord/index.js';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { cairnSaid, echoModel } from './conversation-helpers.js';
import { eventually, useBot } from './harness.js';

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

/** The export attached to a private /memory export reply, parsed. */
async function exportOf(discord: FakeDiscord, user: FakeUser): Promise<ExportedJson> {
  const exported = discord.slash({ user, channelId: discord.channels.general, name: 'memory', subcommand: 'export' });
  const file = await discord.waitFor(() => exported.original()?.attachments[0]);
  expect(exported.ephemeral()).toBe(true);
  return ExportedJson.parse(JSON.parse(file.data?.toString('utf8') ?? 'null'));
}

const ExportedJson = z.looseObject({
  userId: z.string(),
  episodes: z.array(z.object({ id: z.string() }).loose()),
  conversationTurns: z.array(z.object({ role: z.enum(['user', 'assistant']), authorId: z.string(), text: z.string(), runId: z.string().nullable(), createdAt: z.number() }).loose()),
  runRecords: z.array(z.object({ runId: z.string(), userId: z.string(), goal: z.string(), source: z.string() }).loose()),
});
type ExportedJson = z.output<typeof ExportedJson>;

describe('/memory export and conversations', () => {
  it('holds your own turns and Cairn’s answers to you — in a run, a reply chain and a DM — never anyone else’s', async () => {
    const { discord, app } = await startBot();
    echoModel(openai);
    const { alice, bob } = discord.users;
    const general = discord.channels.general;

    const run = discord.slash({ user: alice, channelId: general, name: 'agent', options: { goal: 'Alice plans the trip' } });
    await discord.waitFor(() => run.followUps().find((m) => m.content === 'Answer to: Alice plans the trip'));
    discord.postMessage({ user: alice, channelId: general, content: 'Alice asks about the river', mentionBot: true });
    const toAlice = await cairnSaid(discord, general, 'Answer to: Alice asks about the river');
    // Bob joins Alice's reply chain: his turn and the answer to him are his, not hers.
    discord.postMessage({ user: bob, channelId: general, content: 'Bob asks about the lake', replyTo: toAlice.id });
    const toBob = await cairnSaid(discord, general, 'Answer to: Bob asks about the lake');
    const dm = discord.dm({ user: alice, content: 'Alice whispers in a DM' });
    await cairnSaid(discord, dm.channelId, 'Answer to: Alice whispers in a DM');
    // Turns are stored once the answers are posted.
    await eventually(async () => (await app.conversations.find([messageKey(toBob.id)]))?.turns === 4);
    await eventually(async () => (await app.conversations.find([dmKey(dm.channelId)]))?.turns === 2);

    const mine = await exportOf(discord, alice);
    expect(mine.userId).toBe(alice.id);
    expect(mine.conversationTurns.map((t) => t.text).sort()).toEqual(
      [
        'Alice plans the trip',
        'Answer to: Alice plans the trip',
        'Alice asks about the river',
        'Answer to: Alice asks about the river',
        'Alice whispers in a DM',
        'Answer to: Alice whispers in a DM',
      ].sort(),
    );
    // Newest first, as the rest of the export; each answer is to one of Alice's own runs.
    const times = mine.conversationTurns.map((t) => t.createdAt);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const aliceRuns = new Set(mine.conversationTurns.filter((t) => t.authorId === alice.id).map((t) => t.runId));
    expect(mine.conversationTurns.filter((t) => t.role === 'assistant').every((t) => aliceRuns.has(t.runId))).toBe(true);

    // What each of her runs was asked (for Retry), and nobody else's.
    expect(mine.runRecords.map((r) => [r.source, r.goal]).sort()).toEqual(
      [
        ['mention', 'Alice asks about the river'],
        ['mention', 'Alice whispers in a DM'],
        ['slash', 'Alice plans the trip'],
      ].sort(),
    );
    expect(mine.runRecords.every((r) => r.userId === alice.id)).toBe(true);

    const his = await exportOf(discord, bob);
    expect(his.conversationTurns.map((t) => t.text)).toEqual(['Answer to: Bob asks about the lake', 'Bob asks about the lake']);
    expect(his.runRecords.map((r) => r.goal)).toEqual(['Bob asks about the lake']);
    expect(JSON.stringify(his)).not.toContain('Alice');
  });
});
