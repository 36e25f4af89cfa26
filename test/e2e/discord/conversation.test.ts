/**
 * Conversations that continue, through the real discord.js client and the fake Discord: a run's
 * thread, a reply to an answer, a reply chain across a restart, CAIRN_THREADS, DMs.
 */
import { describe, expect, it } from 'vitest';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { buttons, eventually, useBot } from './harness.js';
import { cairnSaid, earlierTurns, echoModel, requestFor, sent } from './conversation-helpers.js';

const openai = useFakeOpenAi();
const startBot = useBot(openai);

describe('conversations that continue', () => {
  it('a follow-up in a run’s thread carries the run’s goal and answer, in order', async () => {
    const { discord, app } = await startBot();
    echoModel(openai);
    const alice = discord.users.alice;
    const run = discord.slash({ user: alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'Name three rivers in Norway' } });
    await discord.waitFor(() => run.followUps().find((m) => m.content === 'Answer to: Name three rivers in Norway'));
    const thread = await discord.waitFor(() => discord.threads()[0]);

    const followUp = discord.postMessage({ user: alice, channelId: thread.id, content: 'Which of them is longest?', mentionBot: true });
    const answer = await cairnSaid(discord, thread.id, 'Answer to: Which of them is longest?');
    expect(answer.replyTo).toBe(followUp.id);
    expect(buttons(answer).map((b) => b.emoji)).toEqual(['👍', '👎', '🔁']);
    expect(earlierTurns(requestFor(openai, 'Which of them is longest?'))).toEqual([
      { role: 'user', content: 'Name three rivers in Norway' },
      { role: 'assistant', content: 'Answer to: Name three rivers in Norway' },
    ]);

    // A third turn carries both exchanges.
    discord.postMessage({ user: alice, channelId: thread.id, content: 'And the shortest?', mentionBot: true });
    await cairnSaid(discord, thread.id, 'Answer to: And the shortest?');
    expect(earlierTurns(requestFor(openai, 'And the shortest?')).map((m) => m.content)).toEqual([
      'Name three rivers in Norway',
      'Answer to: Name three rivers in Norway',
      'Which of them is longest?',
      'Answer to: Which of them is longest?',
    ]);
    await eventually(async () => (await app.conversations.find([`thread:${thread.id}`]))?.turns === 6);
  });

  it('🔁 on an answer in a thread retries that message with the conversation as it was before it', async () => {
    const { discord } = await startBot();
    echoModel(openai);
    const alice = discord.users.alice;
    const run = discord.slash({ user: alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'Name three rivers in Norway' } });
    await discord.waitFor(() => run.followUps().find((m) => m.content === 'Answer to: Name three rivers in Norway'));
    const thread = await discord.waitFor(() => discord.threads()[0]);
    discord.postMessage({ user: alice, channelId: thread.id, content: 'Which of them is longest?', mentionBot: true });
    const answer = await cairnSaid(discord, thread.id, 'Answer to: Which of them is longest?');

    const retryButton = buttons(answer).find((b) => b.emoji === '🔁');
    const retry = discord.clickButton({ user: alice, message: answer, customId: retryButton?.customId ?? '' });
    await discord.waitFor(() => retry.followUps().find((m) => m.content === 'Answer to: Which of them is longest?'));
    const asked = openai.chatRequests().filter((b) => sent(b).at(-1)?.content === 'Which of them is longest?');
    expect(asked).toHaveLength(2);
    // The retry sees the run's goal and answer, not the first attempt at this message.
    expect(earlierTurns(asked[1])).toEqual([
      { role: 'user', content: 'Name three rivers in Norway' },
      { role: 'assistant', content: 'Answer to: Name three rivers in Norway' },
    ]);
  });

  it('a reply to a run’s answer continues it where the answer is, and so does a reply to that', async () => {
    const { discord } = await startBot();
    echoModel(openai);
    const { alice } = discord.users;
    const run = discord.slash({ user: alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'Pick a colour for the logo' } });
    const answer = await discord.waitFor(() => run.followUps().find((m) => m.content === 'Answer to: Pick a colour for the logo'));

    // A reply that pings Cairn: Discord delivers it as a mention, text included, without the intent.
    const reply = discord.postMessage({ user: alice, channelId: discord.channels.general, content: 'Why that one?', replyTo: answer.id });
    const second = await cairnSaid(discord, discord.channels.general, 'Answer to: Why that one?');
    expect(second.replyTo).toBe(reply.id);
    expect(earlierTurns(requestFor(openai, 'Why that one?')).map((m) => m.content)).toEqual(['Pick a colour for the logo', 'Answer to: Pick a colour for the logo']);

    discord.postMessage({ user: alice, channelId: discord.channels.general, content: 'Make it darker', replyTo: second.id });
    await cairnSaid(discord, discord.channels.general, 'Answer to: Make it darker');
    expect(earlierTurns(requestFor(openai, 'Make it darker')).map((m) => m.content)).toEqual([
      'Pick a colour for the logo',
      'Answer to: Pick a colour for the logo',
      'Why that one?',
      'Answer to: Why that one?',
    ]);
  });

  it('a mention starts a reply chain that survives a restart; a new mention starts afresh', async () => {
    const h = await startBot();
    const { discord } = h;
    echoModel(openai);
    const { alice } = discord.users;
    const general = discord.channels.general;
    discord.postMessage({ user: alice, channelId: general, content: 'My favourite number is 42.', mentionBot: true });
    const first = await cairnSaid(discord, general, 'Answer to: My favourite number is 42.');
    expect(earlierTurns(requestFor(openai, 'My favourite number is 42.'))).toEqual([]);

    // Turns are stored when the answer is posted: a restart loses nothing.
    await h.bot.stop();
    await h.restart();
    discord.postMessage({ user: alice, channelId: general, content: 'Double it.', replyTo: first.id });
    await cairnSaid(discord, general, 'Answer to: Double it.');
    expect(earlierTurns(requestFor(openai, 'Double it.')).map((m) => m.content)).toEqual(['My favourite number is 42.', 'Answer to: My favourite number is 42.']);

    // Not a reply, so a new conversation.
    discord.postMessage({ user: alice, channelId: general, content: 'Something else entirely.', mentionBot: true });
    await cairnSaid(discord, general, 'Answer to: Something else entirely.');
    expect(earlierTurns(requestFor(openai, 'Something else entirely.'))).toEqual([]);
  });

  it('with CAIRN_THREADS=on a mention opens a thread on the message, and the conversation goes on there', async () => {
    const { discord } = await startBot({ env: { CAIRN_THREADS: 'on' } });
    echoModel(openai);
    const { bob } = discord.users;
    const question = discord.postMessage({ user: bob, channelId: discord.channels.general, content: 'Draft an agenda for Monday', mentionBot: true });
    const thread = await discord.waitFor(() => discord.threads().find((t) => t.starterMessageId === question.id));
    expect(thread.name).toBe('Draft an agenda for Monday');
    await cairnSaid(discord, thread.id, 'Answer to: Draft an agenda for Monday');
    discord.postMessage({ user: bob, channelId: thread.id, content: 'Add a break', mentionBot: true });
    await cairnSaid(discord, thread.id, 'Answer to: Add a break');
    expect(earlierTurns(requestFor(openai, 'Add a break')).map((m) => m.content)).toEqual(['Draft an agenda for Monday', 'Answer to: Draft an agenda for Monday']);

    // Where Cairn may not open threads, it answers in the channel.
    discord.postMessage({ user: bob, channelId: discord.channels.noThreads, content: 'Just here please', mentionBot: true });
    const inline = await cairnSaid(discord, discord.channels.noThreads, 'Answer to: Just here please');
    expect(inline.replyTo).toBeDefined();
    expect(discord.threads()).toHaveLength(1);
  });

  it('a DM is one conversation, private to its person', async () => {
    const { discord, app } = await startBot();
    echoModel(openai);
    const { alice } = discord.users;
    const hello = discord.dm({ user: alice, content: 'Remember: my locker is 17.' });
    const dmChannel = hello.channelId;
    await cairnSaid(discord, dmChannel, 'Answer to: Remember: my locker is 17.');
    discord.dm({ user: alice, content: 'Which locker is mine?' });
    await cairnSaid(discord, dmChannel, 'Answer to: Which locker is mine?');
    expect(earlierTurns(requestFor(openai, 'Which locker is mine?')).map((m) => m.content)).toEqual(['Remember: my locker is 17.', 'Answer to: Remember: my locker is 17.']);
    const dm = await app.conversations.find([`dm:${dmChannel}`]);
    expect(dm).toMatchObject({ kind: 'dm', visibility: 'private', ownerId: alice.id });
    expect((await app.conversations.store.turns(dm?.id ?? '')).every((t) => t.visibility === 'private' && t.ownerId === alice.id)).toBe(true);

    // Her channel conversation does not carry her DM.
    discord.postMessage({ user: alice, channelId: discord.channels.general, content: 'What is my locker?', mentionBot: true });
    await cairnSaid(discord, discord.channels.general, 'Answer to: What is my locker?');
    expect(JSON.stringify(requestFor(openai, 'What is my locker?')?.messages.slice(1))).not.toContain('Answer to: Remember');
  });

  it('an answer Discord refuses is explained to the person, and the exchange is not kept', async () => {
    const { discord, app } = await startBot();
    echoModel(openai);
    const { alice } = discord.users;
    discord.failNext({ method: 'POST', path: new RegExp(`^/channels/${discord.channels.general}/messages$`) }, { status: 403, code: 50013, message: 'Missing Permissions' });
    const asked = discord.postMessage({ user: alice, channelId: discord.channels.general, content: 'Are you there?', mentionBot: true });
    const dm = await discord.waitFor(() => discord.threads().length === 0 && [...discord.requests].reverse().find((r) => r.method === 'POST' && r.path.startsWith('/channels/') && JSON.stringify(r.body ?? null).includes('could not answer your message')));
    expect(JSON.stringify(dm.body)).toMatch(/missing a Discord permission/);
    await eventually(async () => (await app.conversations.find([`message:${asked.id}`])) === undefined || undefined);
    expect(await app.conversations.find([`message:${asked.id}`])).toBeUndefined();
  });
});
