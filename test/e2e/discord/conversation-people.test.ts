/**
 * Several people in one conversation, privacy, the Message Content intent and the mentions policy,
 * through the real discord.js client and the fake Discord.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { DiscordBot } from '../../../src/discord/bot.js';
import { silentLogger } from '../../../src/log.js';
import { startFakeDiscord } from '../../fakes/discord/index.js';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { useBot, type BotHarness } from './harness.js';
import { cairnSaid, earlierTurns, echoModel, quietFor, requestFor, sent } from './conversation-helpers.js';

const openai = useFakeOpenAi();
const startBot = useBot(openai);

/** Answers with the goal and every secret (SECRET-…) anywhere in the prompt: what the model could leak. */
function leakyModel(): void {
  echoModel(openai, (goal, body) => {
    const secrets = [...new Set(JSON.stringify(body.messages).match(/SECRET-[A-Z]+-\d+/g) ?? [])];
    return `Answer to: ${goal}${secrets.length === 0 ? '' : ` (I know ${secrets.join(', ')})`}`;
  });
}

/** A private memory of `who`, in the main server's #general: their gym locker's code. */
async function privateMemory(h: BotHarness, who: 'alice' | 'bob', secret: string): Promise<void> {
  const scope = { userId: h.discord.users[who].id, channelId: h.discord.channels.general, guildId: h.discord.guildId };
  await h.app.memory.semantic.save({ text: `${secret} is the code of ${who}'s gym locker`, kind: 'fact', scope, visibility: 'private' });
}

/** An /agent run by alice in #general; its thread's id once the answer is out. */
async function aliceRun(h: BotHarness, goal: string): Promise<string> {
  const run = h.discord.slash({ user: h.discord.users.alice, channelId: h.discord.channels.general, name: 'agent', options: { goal } });
  await h.discord.waitFor(() => run.followUps().find((m) => m.content.startsWith(`Answer to: ${goal}`)));
  return (await h.discord.waitFor(() => h.discord.threads()[0])).id;
}

describe('several people in one conversation', () => {
  it('three people in one thread: each turn attributed, nobody’s private memory in another’s reply', async () => {
    const h = await startBot();
    const { discord } = h;
    leakyModel();
    const thread = await aliceRun(h, 'Plan our team lunch');
    // Saved after Alice's run: a public answer quoting her own private memory would be public already.
    await privateMemory(h, 'alice', 'SECRET-ALICE-4512');
    await privateMemory(h, 'bob', 'SECRET-BOB-9981');
    await h.app.memory.maintenance.refreshIndexes();

    // Both ask about gym lockers: the private memories match, but only their owners may recall them.
    discord.postMessage({ user: discord.users.carol, channelId: thread, content: 'Which gym locker codes do you know?', mentionBot: true });
    const toCarol = await cairnSaid(discord, thread, 'Answer to: Which gym locker codes');
    discord.postMessage({ user: discord.users.bob, channelId: thread, content: 'What did Carol ask about gym lockers?', mentionBot: true });
    const toBob = await cairnSaid(discord, thread, 'Answer to: What did Carol ask');

    // Bob's prompt: every earlier turn, in order, each person's named and marked as someone else's.
    const bobTurns = earlierTurns(requestFor(openai, 'What did Carol ask about gym lockers?'));
    expect(bobTurns.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(bobTurns[0]?.content).toBe('[Alice · another person] Plan our team lunch');
    expect(bobTurns[2]?.content).toBe('[Carol · another person] Which gym locker codes do you know?');
    expect(sent(requestFor(openai, 'What did Carol ask about gym lockers?'))[0]?.content).toMatch(/You are answering Bob — "the user"/);
    // Carol's prompt marks Alice's turn as another person's too.
    expect(earlierTurns(requestFor(openai, 'Which gym locker codes do you know?'))[0]?.content).toBe('[Alice · another person] Plan our team lunch');

    // Nobody's private memory reached another person's prompt or reply.
    expect(toCarol.content).not.toMatch(/SECRET-(ALICE|BOB)/);
    expect(JSON.stringify(requestFor(openai, 'Which gym locker codes do you know?'))).not.toMatch(/SECRET-(ALICE|BOB)/);
    expect(toBob.content).not.toContain('SECRET-ALICE');
    expect(JSON.stringify(requestFor(openai, 'What did Carol ask about gym lockers?'))).not.toContain('SECRET-ALICE');

    // Their owners do get them, so the checks above could have failed.
    expect(toBob.content).toContain('SECRET-BOB-9981');
    discord.postMessage({ user: discord.users.alice, channelId: thread, content: 'And my gym locker code?', mentionBot: true });
    expect((await cairnSaid(discord, thread, 'Answer to: And my gym locker code?')).content).toContain('SECRET-ALICE-4512');
  });

  it('a private run’s turns stay out of the channel: nothing to reply to, nothing in the next prompt', async () => {
    const h = await startBot();
    const { discord } = h;
    leakyModel();
    const secret = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'My SECRET-ALICE-1234 is the vault code', private: true } });
    await discord.waitFor(() => secret.followUps().find((m) => m.content.startsWith('Answer to:')));
    expect(discord.threads()).toEqual([]);
    discord.postMessage({ user: discord.users.alice, channelId: discord.channels.general, content: 'What is the vault code?', mentionBot: true });
    await cairnSaid(discord, discord.channels.general, 'Answer to: What is the vault code?');
    expect(earlierTurns(requestFor(openai, 'What is the vault code?'))).toEqual([]);
  });
});

describe('the Message Content intent', () => {
  it('without it: Cairn never asks for it, and answers in its threads only when mentioned', async () => {
    const h = await startBot();
    const { discord } = h;
    echoModel(openai);
    expect((discord.identify()?.intents ?? 0) & (1 << 15)).toBe(0);
    const thread = await aliceRun(h, 'Summarise the roadmap');
    const before = openai.chatRequests().length;
    discord.postMessage({ user: discord.users.bob, channelId: thread, content: 'Nice summary' });
    await quietFor(400);
    expect(openai.chatRequests().length).toBe(before);
    discord.postMessage({ user: discord.users.bob, channelId: thread, content: 'What is first on it?', mentionBot: true });
    await cairnSaid(discord, thread, 'Answer to: What is first on it?');
    expect(earlierTurns(requestFor(openai, 'What is first on it?')).map((m) => m.content)).toEqual(['[Alice · another person] Summarise the roadmap', 'Answer to: Summarise the roadmap']);
  });

  it('with it: every message in Cairn’s own threads and every reply to it is answered, nothing else', async () => {
    const h = await startBot({ env: { CAIRN_MESSAGE_CONTENT: 'on' }, discord: { privilegedIntents: ['MessageContent'] } });
    const { discord } = h;
    echoModel(openai);
    expect((discord.identify()?.intents ?? 0) & (1 << 15)).toBe(1 << 15);
    const thread = await aliceRun(h, 'Summarise the roadmap');
    discord.postMessage({ user: discord.users.bob, channelId: thread, content: 'What comes after that?' });
    await cairnSaid(discord, thread, 'Answer to: What comes after that?');
    expect(earlierTurns(requestFor(openai, 'What comes after that?')).map((m) => m.content)).toEqual(['[Alice · another person] Summarise the roadmap', 'Answer to: Summarise the roadmap']);

    // A reply with its ping turned off still continues the conversation: its text is visible now.
    const answer = await cairnSaid(discord, thread, 'Answer to: What comes after that?');
    discord.postMessage({ user: discord.users.bob, channelId: thread, content: 'And after that?', replyTo: answer.id, ping: false });
    await cairnSaid(discord, thread, 'Answer to: And after that?');

    // Plain channel chatter is not Cairn's business.
    const before = openai.chatRequests().length;
    discord.postMessage({ user: discord.users.carol, channelId: discord.channels.general, content: 'Lunch at noon?' });
    await quietFor(400);
    expect(openai.chatRequests().length).toBe(before);
  });

  it('asked for but not approved in the developer portal: the bot says so and how to fix it', async () => {
    const discord = await startFakeDiscord();
    const { mkdtemp, rm } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cairn-intent-'));
    const config = loadConfig(
      { DISCORD_TOKEN: discord.token, DISCORD_REST_URL: discord.restApi, OPENAI_BASE_URL: openai.baseURL, CAIRN_DATA_DIR: dataDir, CAIRN_MESSAGE_CONTENT: 'on' },
      ['llm', 'discord'],
    );
    const app = await createApp(config, silentLogger());
    try {
      await expect(DiscordBot.start(app)).rejects.toThrow(/Bot → Privileged Gateway Intents → Message Content Intent/);
      expect(discord.identify()?.intents ?? 0).toBe((discord.identify()?.intents ?? 0) | (1 << 15));
    } finally {
      await app.close();
      await discord.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('where mentions are off', () => {
  it('Cairn stays silent there — mentions, replies and its threads — and answers elsewhere', async () => {
    const h = await startBot();
    const { discord } = h;
    echoModel(openai);
    const thread = await aliceRun(h, 'Draft the release notes');
    // The policy port (/config's `mentions`), off in #general and everything under it.
    h.bot.context.conversationPolicy = { threads: () => false, mentions: (place) => place.channelId !== discord.channels.general };
    const before = openai.chatRequests().length;
    const requestsBefore = discord.requests.length;
    discord.postMessage({ user: discord.users.bob, channelId: discord.channels.general, content: 'Are you there?', mentionBot: true });
    discord.postMessage({ user: discord.users.bob, channelId: thread, content: 'Add the bug fixes', mentionBot: true });
    await quietFor(500);
    expect(openai.chatRequests().length).toBe(before);
    // Not a reply, not a DM, not even "typing": nothing was sent to Discord.
    expect(discord.requests.slice(requestsBefore).filter((r) => r.method !== 'GET')).toEqual([]);

    discord.postMessage({ user: discord.users.bob, channelId: discord.channels.noThreads, content: 'And here?', mentionBot: true });
    await cairnSaid(discord, discord.channels.noThreads, 'Answer to: And here?');
    // DMs have no channel settings: answered.
    const dm = discord.dm({ user: discord.users.bob, content: 'Hello' });
    await cairnSaid(discord, dm.channelId, 'Answer to: Hello');
  });
});
