import { describe, expect, it } from 'vitest';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { privateText, useBot } from './harness.js';

const openai = useFakeOpenAi();
const startBot = useBot(openai);

describe('who may use Cairn', () => {
  it('refuses people not on the allow-list, privately, before doing any work', async () => {
    // An allow-list naming only a role that bob does not have.
    const { discord } = await startBot({ env: { CAIRN_ALLOWED_ROLES: '100000000000000000' } });
    const i = discord.slash({ user: discord.users.bob, channelId: discord.channels.general, name: 'agent', options: { goal: 'hi' } });
    expect(await privateText(i, discord)).toMatch(/not on the list of people who may use Cairn/);
    expect(openai.chatRequests()).toHaveLength(0);
  });

  it('limits how many runs a person starts per minute', async () => {
    const { discord } = await startBot({ env: { CAIRN_RUNS_PER_MINUTE: '2' } });
    openai.respondWith(() => ({ kind: 'text', content: 'ok' }));
    const start = () => discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'hi' } });
    const started = [start(), start()];
    for (const i of started) expect((await i.acknowledged()).type).toBe(5);
    expect(await privateText(start(), discord)).toMatch(/at most 2 runs a minute/);
    // Someone else is not affected.
    const bobs = discord.slash({ user: discord.users.bob, channelId: discord.channels.general, name: 'agent', options: { goal: 'hi' } });
    expect((await bobs.acknowledged()).type).toBe(5);
    // The runs finish here: still running, they would take the next test's scripted replies.
    for (const i of [...started, bobs]) await discord.waitFor(() => i.followUps().find((m) => m.content === 'ok'));
  });
});

describe('/runs, /memory and /help', () => {
  it('lists and shows your runs, privately, and hides other people’s', async () => {
    const { discord } = await startBot();
    openai.script({ kind: 'tool_calls', calls: [{ name: 'current_time', arguments: {} }] }, { kind: 'text', content: 'Noon.' });
    const run = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'what time is it' } });
    await discord.waitFor(() => run.followUps()[0]);
    const runId = /run `([^`]+)`/.exec(run.original()?.content ?? '')?.[1] ?? '';

    const list = await privateText(discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'runs', subcommand: 'list' }), discord);
    expect(list).toContain(runId);
    expect(list).toContain('what time is it');
    const show = await privateText(discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'runs', subcommand: 'show', options: { id: runId } }), discord);
    expect(show).toMatch(/✅ \*\*succeeded\*\*/);
    expect(show).toMatch(/1\. ✅ `current_time`/);
    expect(show).toContain('Noon.');
    const bobs = await privateText(discord.slash({ user: discord.users.bob, channelId: discord.channels.general, name: 'runs', subcommand: 'show', options: { id: runId } }), discord);
    expect(bobs).toMatch(/There is no run/);
  });

  it('searches, exports and forgets memories, privately', async () => {
    const { discord, app } = await startBot();
    const scope = { userId: discord.users.alice.id, channelId: discord.channels.general, guildId: discord.guildId };
    const { id } = await app.memory.semantic.save({ text: 'Alice prefers tea over coffee', kind: 'fact', scope, visibility: 'private' });
    const search = await privateText(discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'memory', subcommand: 'search', options: { query: 'tea or coffee' } }), discord);
    expect(search).toContain(id);
    expect(search).toContain('Alice prefers tea over coffee');
    // Bob does not see Alice's private memory, nor can he delete it.
    expect(await privateText(discord.slash({ user: discord.users.bob, channelId: discord.channels.general, name: 'memory', subcommand: 'search', options: { query: 'tea or coffee' } }), discord)).not.toContain(id);
    expect(await privateText(discord.slash({ user: discord.users.bob, channelId: discord.channels.general, name: 'memory', subcommand: 'forget', options: { id } }), discord)).toMatch(/no memory/);

    const exported = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'memory', subcommand: 'export' });
    await discord.waitFor(() => exported.original()?.attachments[0]);
    expect(exported.original()?.attachments[0]?.filename).toBe(`cairn-export-${discord.users.alice.id}.json`);

    expect(await privateText(discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'memory', subcommand: 'forget', options: { id } }), discord)).toMatch(/Forgotten/);
    expect(await app.memory.semantic.get(id)).toBeUndefined();
    expect(await privateText(discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'memory', subcommand: 'stats' }), discord)).toMatch(/fact 0/);
  });

  it('lists the lessons that apply here, which their owner can forget', async () => {
    const { discord, app } = await startBot();
    const scope = { userId: discord.users.alice.id, channelId: discord.channels.general, guildId: discord.guildId };
    const { id } = await app.memory.semantic.save({ text: 'When asked about times: answer in Oslo time.', kind: 'lesson', scope, visibility: 'channel' });
    const list = await privateText(discord.slash({ user: discord.users.bob, channelId: discord.channels.general, name: 'memory', subcommand: 'lessons' }), discord);
    expect(list).toContain(id);
    expect(list).toContain('answer in Oslo time');
    expect(await privateText(discord.slash({ user: discord.users.bob, channelId: discord.channels.general, name: 'memory', subcommand: 'forget', options: { id } }), discord)).toMatch(/written by someone else/);
    expect(await privateText(discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'memory', subcommand: 'forget', options: { id } }), discord)).toMatch(/Forgotten/);
  });

  it('explains itself with /help, including how a conversation continues', async () => {
    const { discord } = await startBot();
    const help = await privateText(discord.slash({ user: discord.users.bob, channelId: discord.channels.general, name: 'help' }), discord);
    expect(help).toMatch(/\/agent goal:/);
    // Without the Message Content intent a thread message reaches Cairn only when it mentions it.
    expect(help).toContain("Reply to one of Cairn's messages, or mention @Cairn in its thread, to continue the conversation");
    expect(help.length).toBeLessThanOrEqual(2_000);

    const withIntent = await startBot({ env: { CAIRN_MESSAGE_CONTENT: 'on' }, discord: { privilegedIntents: ['MessageContent'] } });
    const general = withIntent.discord.channels.general;
    expect(await privateText(withIntent.discord.slash({ user: withIntent.discord.users.bob, channelId: general, name: 'help' }), withIntent.discord)).toContain(
      "Reply to one of Cairn's messages, or just keep talking in its thread, to continue the conversation",
    );
  });
});

describe('mentions and DMs', () => {
  it('answers a mention in the channel and a DM privately, through the same agent', async () => {
    const { discord, app } = await startBot();
    openai.script({ kind: 'text', content: 'Hello Alice!' }, { kind: 'text', content: 'Psst, hello.' });
    discord.postMessage({ user: discord.users.alice, channelId: discord.channels.general, content: 'hi there', mentionBot: true });
    const reply = await discord.waitFor(() => discord.channelMessages(discord.channels.general).find((m) => m.content === 'Hello Alice!'));
    expect(reply.authorId).toBe(discord.botUserId);
    expect(JSON.stringify(openai.chatRequests()[0]?.messages.at(-1))).toContain('hi there');
    // A message that does not mention Cairn is none of its business.
    discord.postMessage({ user: discord.users.bob, channelId: discord.channels.general, content: 'unrelated chatter' });

    const dm = discord.dm({ user: discord.users.bob, content: 'a private hello' });
    await discord.waitFor(() => discord.channelMessages(dm.channelId).find((m) => m.content === 'Psst, hello.'));
    expect(openai.chatRequests()).toHaveLength(2);
    await app.memory.settled(); // turns are saved after the answer is posted
    const turns = await app.memory.semantic.list(`kind = 'turn'`);
    expect(turns.find((t) => t.text === 'a private hello')?.scopeKey).toBe(`user:${discord.users.bob.id}`);
  });
});

describe('Discord errors', () => {
  it('explains a missing permission to the user privately instead of failing silently', async () => {
    const { discord } = await startBot();
    openai.script({ kind: 'text', content: 'An answer nobody can see here.' });
    // The bot may not send messages in this channel.
    discord.postMessage({ user: discord.users.alice, channelId: discord.channels.readOnly, content: 'hello?', mentionBot: true });
    const dmChannel = await discord.waitFor(() =>
      discord.requests.find((r) => r.method === 'POST' && r.path === '/users/@me/channels' && JSON.stringify(r.body).includes(discord.users.alice.id)),
    );
    expect(dmChannel).toBeDefined();
    const explanation = await discord.waitFor(() =>
      discord.requests.find((r) => r.method === 'POST' && /^\/channels\/\d+\/messages$/.test(r.path) && JSON.stringify(r.body).includes('missing a Discord permission')),
    );
    expect(explanation.status).toBeLessThan(300);
  });
});

