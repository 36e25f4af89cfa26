/**
 * 🔁 Retry on answers, through the real discord.js client against the fake Discord and the fake
 * model: same goal, mode and files (downloaded again), linked to the first run in `/runs show`;
 * only the starter may press it; a 👎 given just before becomes a lesson the retry applies.
 */
import { describe, expect, it } from 'vitest';
import type { FakeDiscord, FakeInteraction, FakeMessage } from '../../fakes/discord/index.js';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { cairnSaid, earlierTurns, echoModel, goalOf } from './conversation-helpers.js';
import { cdnEnv, requestText } from './files-helpers.js';
import { buttons, eventually, useBot, type BotHarness } from './harness.js';

const openai = useFakeOpenAi();
const startBot = useBot(openai);

const promptText = (n: number): string => requestText(openai, n);

const press = (discord: FakeDiscord, message: FakeMessage, emoji: string, user = discord.users.alice): FakeInteraction =>
  discord.clickButton({ user, message, customId: buttons(message).find((b) => b.emoji === emoji)?.customId ?? '' });

const runIdOf = (answer: FakeMessage) => /:([a-z0-9-]+)$/.exec(buttons(answer)[0]?.customId ?? '')?.[1] ?? '';

/** `/runs show id:<runId>` as `user`: the private reply's text. */
async function show(h: BotHarness, runId: string, user = h.discord.users.alice): Promise<string> {
  const i = h.discord.slash({ user, channelId: h.discord.channels.general, name: 'runs', subcommand: 'show', options: { id: runId } });
  await i.acknowledged();
  return h.discord.waitFor(() => i.original()?.content);
}

describe('🔁 Retry', () => {
  it('runs the same goal, mode and files again for the starter, and /runs show links the two runs', async () => {
    const h = await startBot({ env: cdnEnv() });
    const { discord } = h;
    const upload = discord.upload('notes.txt', Buffer.from('alpha\nbeta\n'), 'text/plain');
    openai.script({ kind: 'text', content: 'First try: two lines.' });
    const first = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'Count the lines of my notes', mode: 'react', file1: { attachment: upload } } });
    const answer = await discord.waitFor(() => first.followUps().find((m) => m.content === 'First try: two lines.'));
    expect(buttons(answer).map((b) => b.emoji)).toEqual(['👍', '👎', '🔁']);
    const firstId = runIdOf(answer);

    openai.script({ kind: 'text', content: 'Second try: 2 lines.' });
    const retry = press(discord, answer, '🔁');
    expect((await retry.acknowledged()).type).toBe(5);
    expect(retry.ephemeral()).toBe(false);
    const again = await discord.waitFor(() => retry.followUps().find((m) => m.content === 'Second try: 2 lines.'));
    const secondId = runIdOf(again);
    expect(secondId).not.toBe(firstId);

    // The model saw the same goal and the same file, fetched from the CDN a second time.
    expect(openai.chatRequests()).toHaveLength(2);
    for (const n of [0, 1]) {
      expect(promptText(n)).toContain('Count the lines of my notes');
      expect(promptText(n)).toContain('notes.txt');
    }
    expect(discord.cdn.requests.filter((r) => r.status === 200 && r.path === new URL(upload.url).pathname)).toHaveLength(2);
    const episode = await eventually(() => h.app.memory.episodes.get(secondId));
    expect(episode).toMatchObject({ goal: 'Count the lines of my notes', mode: 'react' });

    expect(await show(h, firstId)).toContain(`**Retries**: \`${secondId}\``);
    const second = await show(h, secondId);
    expect(second).toContain(`🔁 Retry of \`${firstId}\``);
    expect(second).toMatch(/\*\*Files in\*\*\n- notes\.txt \(11 bytes\)/);
  });

  it('refuses anyone but the starter, privately, and runs nothing', async () => {
    const h = await startBot();
    const { discord } = h;
    openai.script({ kind: 'text', content: 'The answer is 42.' });
    const first = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'the question' } });
    const answer = await discord.waitFor(() => first.followUps().find((m) => m.content === 'The answer is 42.'));
    const requests = openai.chatRequests().length;

    const intruder = press(discord, answer, '🔁', discord.users.bob);
    const ack = await intruder.acknowledged();
    expect(intruder.ephemeral()).toBe(true);
    expect(JSON.stringify(ack.data)).toContain(`Only <@${discord.users.alice.id}>, who started this run, can retry it.`);
    // An admin of the server is refused too: a retry runs as, and is paid by, the one who presses it.
    const admin = press(discord, answer, '🔁', discord.users.carol);
    expect(JSON.stringify((await admin.acknowledged()).data)).toContain('can retry it');
    expect(await h.app.runRecords.retriesOf(runIdOf(answer))).toEqual([]);
    expect(openai.chatRequests()).toHaveLength(requests);
  });

  it('keeps a private run private when retried', async () => {
    const h = await startBot();
    const { discord } = h;
    openai.script({ kind: 'text', content: 'Private answer.' });
    const first = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'my secret plan', private: true } });
    const answer = await discord.waitFor(() => first.followUps().find((m) => m.content === 'Private answer.'));
    openai.script({ kind: 'text', content: 'Private again.' });
    const retry = press(discord, answer, '🔁');
    await retry.acknowledged();
    expect(retry.ephemeral()).toBe(true);
    await discord.waitFor(() => retry.followUps().find((m) => m.content === 'Private again.'));
    expect(discord.channelMessages(discord.channels.general).some((m) => m.content.includes('Private again.'))).toBe(false);
    expect(discord.threads()).toEqual([]);
  });

  it('applies the lesson of a 👎 given just before, and says so in the status', async () => {
    const h = await startBot();
    const { discord } = h;
    openai.script({ kind: 'text', content: 'The trains leave at 9:00 UTC.' });
    const first = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'What times do the Oslo trains leave?' } });
    const answer = await discord.waitFor(() => first.followUps().find((m) => m.content.includes('9:00 UTC')));
    // 👎 and the comment box closed without a comment: the reflection would wait a minute for one.
    await press(discord, answer, '👎').acknowledged();
    await eventually(async () => (await h.app.memory.episodes.get(runIdOf(answer)))?.feedback.length === 1);

    openai.script(
      { kind: 'text', content: JSON.stringify({ wentWrong: 'Gave UTC times.', doInstead: 'give train times in the local time of the station', appliesWhen: 'questions about train times' }) },
      { kind: 'text', content: 'The trains leave at 10:00 Oslo time.' },
    );
    const retry = press(discord, answer, '🔁');
    await discord.waitFor(() => retry.followUps().find((m) => m.content.includes('Oslo time')));
    // The retry's prompt, as the model saw it, holds the lesson.
    expect(JSON.stringify(openai.chatRequests().at(-1)?.messages[0])).toContain('give train times in the local time of the station');
    const status = await discord.waitFor(() => (retry.original()?.content.startsWith('✅') === true ? retry.original() : undefined));
    expect(status.content).toContain('📝 Applying the lesson from your 👎.');
    expect(status.content).toContain('1 lesson applied');
  });

  it('in a channel reply chain: the retry sees the turns before the answer, and a reply to its answer, or a retry of it, continues the chain', async () => {
    const { discord } = await startBot();
    // "Answer <n> to: <goal>": the n-th attempt at a message, so attempts can be told apart.
    const attempts = new Map<string, number>();
    echoModel(openai, (goal) => {
      const n = (attempts.get(goal) ?? 0) + 1;
      attempts.set(goal, n);
      return `Answer ${n} to: ${goal}`;
    });
    const { alice } = discord.users;
    const general = discord.channels.general;
    const contents = (n: number, goal: string) => earlierTurns(openai.chatRequests().filter((b) => goalOf(b) === goal)[n]).map((m) => m.content);
    const turn1 = ['My favourite number is 42.', 'Answer 1 to: My favourite number is 42.'];

    discord.postMessage({ user: alice, channelId: general, content: 'My favourite number is 42.', mentionBot: true });
    const first = await cairnSaid(discord, general, 'Answer 1 to: My favourite number is 42.');
    discord.postMessage({ user: alice, channelId: general, content: 'Double it.', replyTo: first.id });
    const second = await cairnSaid(discord, general, 'Answer 1 to: Double it.');
    expect(contents(0, 'Double it.')).toEqual(turn1);

    // Retry of the second answer: the conversation as it was before it.
    const retry = press(discord, second, '🔁');
    const retried = await discord.waitFor(() => retry.followUps().find((m) => m.content === 'Answer 2 to: Double it.'));
    expect(contents(1, 'Double it.')).toEqual(turn1);

    // A reply to the retry's answer continues the same conversation, the retry's exchange included.
    discord.postMessage({ user: alice, channelId: general, content: 'Now halve it.', replyTo: retried.id });
    await cairnSaid(discord, general, 'Answer 1 to: Now halve it.');
    expect(contents(0, 'Now halve it.')).toEqual([...turn1, 'Double it.', 'Answer 1 to: Double it.', 'Double it.', 'Answer 2 to: Double it.']);

    // A retry of the retry is another attempt at the same message: the turns before the first attempt.
    const again = press(discord, retried, '🔁');
    await discord.waitFor(() => again.followUps().find((m) => m.content === 'Answer 3 to: Double it.'));
    expect(contents(2, 'Double it.')).toEqual(turn1);
  });

  it('says plainly when a run has no record to retry from', async () => {
    const h = await startBot();
    const { discord } = h;
    openai.script({ kind: 'text', content: 'Old answer.' });
    const first = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'an old goal' } });
    const answer = await discord.waitFor(() => first.followUps().find((m) => m.content === 'Old answer.'));
    // As for a run from before run records: forgetting alice's data removes them.
    await h.app.memory.forgetUser(discord.users.alice.id);
    const requests = openai.chatRequests().length;
    const retry = press(discord, answer, '🔁');
    const ack = await retry.acknowledged();
    expect(retry.ephemeral()).toBe(true);
    expect(JSON.stringify(ack.data)).toContain('I cannot retry run');
    expect(openai.chatRequests()).toHaveLength(requests);
  });
});
