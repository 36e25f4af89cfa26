import { describe, expect, it } from 'vitest';
import type { FakeDiscord, FakeInteraction, FakeMessage } from '../../fakes/discord/index.js';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { buttons, eventually, useBot, type BotHarness } from './harness.js';

const openai = useFakeOpenAi();
const startBot = useBot(openai);

/** Runs /agent for alice and returns the answer message and the run id. */
async function answered(h: BotHarness): Promise<{ answer: FakeMessage; runId: string; i: FakeInteraction }> {
  openai.script({ kind: 'text', content: 'The answer is 42.' });
  const i = h.discord.slash({ user: h.discord.users.alice, channelId: h.discord.channels.general, name: 'agent', options: { goal: 'the question' } });
  const answer = await h.discord.waitFor(() => i.followUps().find((m) => m.content === 'The answer is 42.'));
  const runId = /:([a-z0-9-]+)$/.exec(buttons(answer)[0]?.customId ?? '')?.[1] ?? '';
  return { answer, runId, i };
}

const press = (discord: FakeDiscord, answer: FakeMessage, emoji: string, user = discord.users.alice) =>
  discord.clickButton({ user, message: answer, customId: buttons(answer).find((b) => b.emoji === emoji)?.customId ?? '' });

describe('feedback on answers', () => {
  it('records 👍 from the person who started the run', async () => {
    const h = await startBot();
    const { answer, runId } = await answered(h);
    const click = press(h.discord, answer, '👍');
    await click.acknowledged();
    expect(click.ephemeral()).toBe(true);
    const episode = await eventually(async () => {
      const e = await h.app.memory.episodes.get(runId);
      return e?.feedback.length === 1 ? e : undefined;
    });
    expect(episode.feedback).toEqual([expect.objectContaining({ userId: h.discord.users.alice.id, vote: 'up', comment: null })]);
  });

  it('opens a comment box on 👎 and keeps the comment; the vote counts even if the box is closed', async () => {
    const h = await startBot();
    const { answer, runId } = await answered(h);
    const click = press(h.discord, answer, '👎');
    const ack = await click.acknowledged();
    expect(ack.type).toBe(9); // a modal
    const voted = async () => (await h.app.memory.episodes.get(runId))?.feedback[0];
    expect(await eventually(voted)).toMatchObject({ vote: 'down', comment: null });

    const modalId = (click.modal() as { custom_id: string }).custom_id;
    // The comment starts the reflection: the model is asked for a lesson.
    openai.script({
      kind: 'text',
      content: JSON.stringify({ wentWrong: 'Ignored the time zone.', doInstead: 'give times in the asker’s time zone', appliesWhen: 'questions about times' }),
    });
    const submit = h.discord.submitModal({ user: h.discord.users.alice, channelId: h.discord.channels.general, customId: modalId, fields: { comment: 'It ignored the time zone.' } });
    await submit.acknowledged();
    const withComment = await eventually(async () => {
      const vote = await voted();
      return vote?.comment === 'It ignored the time zone.' ? vote : undefined;
    });
    expect(withComment).toMatchObject({ vote: 'down', userId: h.discord.users.alice.id });
    expect((await h.app.memory.episodes.get(runId))?.feedback).toHaveLength(1); // changed, not added
    const note = await h.discord.waitFor(() => h.discord.channelMessages(h.discord.channels.general).find((m) => m.content.startsWith('📝')));
    expect(note.content).toBe(`📝 **Lesson learned** from run \`${runId}\`: give times in the asker’s time zone (applies to: questions about times).`);
    expect(JSON.stringify(openai.chatRequests()[1]?.messages)).toContain('It ignored the time zone.');
    expect((await h.app.memory.episodes.get(runId))?.lessonIds).toHaveLength(1);
  });

  it('applies the lesson to the next related run, says so in the status, and /runs show lists it', async () => {
    const h = await startBot();
    const { answer } = await answered(h);
    const click = press(h.discord, answer, '👎');
    await click.acknowledged();
    openai.script({
      kind: 'text',
      content: JSON.stringify({ wentWrong: 'Ignored the time zone.', doInstead: 'give times in the asker’s time zone', appliesWhen: 'questions about times' }),
    });
    const modalId = (click.modal() as { custom_id: string }).custom_id;
    await h.discord.submitModal({ user: h.discord.users.alice, channelId: h.discord.channels.general, customId: modalId, fields: { comment: 'Wrong zone.' } }).acknowledged();
    await h.discord.waitFor(() => h.discord.channelMessages(h.discord.channels.general).find((m) => m.content.startsWith('📝')));

    openai.script({ kind: 'text', content: 'The trains leave at 9:00 Oslo time.' });
    const next = h.discord.slash({ user: h.discord.users.alice, channelId: h.discord.channels.general, name: 'agent', options: { goal: 'What times do the Oslo trains leave?' } });
    await h.discord.waitFor(() => next.followUps().find((m) => m.content.includes('9:00')));
    expect(JSON.stringify(openai.chatRequests().at(-1)?.messages[0])).toContain('give times in the asker’s time zone');
    const status = await h.discord.waitFor(() => (next.original()?.content.startsWith('✅') === true ? next.original() : undefined));
    const runId = /run `([^`]+)`/.exec(status.content)?.[1] ?? '';
    expect(status.content).toContain(`1 lesson applied (\`/runs show id:${runId}\` lists them)`);

    const show = h.discord.slash({ user: h.discord.users.alice, channelId: h.discord.channels.general, name: 'runs', subcommand: 'show', options: { id: runId } });
    await show.acknowledged();
    const shown = await h.discord.waitFor(() => show.original()?.content);
    expect(shown).toMatch(/\*\*Lessons applied\*\*\n- “When questions about times: give times in the asker’s time zone \(Earlier mistake: Ignored the time zone\.\)” `[^`]+`/);
  });

  it('tells someone else privately that the buttons are not theirs, and records nothing', async () => {
    const h = await startBot();
    const { answer, runId } = await answered(h);
    const click = press(h.discord, answer, '👍', h.discord.users.bob);
    const ack = await click.acknowledged();
    expect(click.ephemeral()).toBe(true);
    expect(JSON.stringify(ack.data)).toMatch(/react with 👍 or 👎 instead/);
    expect((await h.app.memory.episodes.get(runId))?.feedback).toEqual([]);
  });

  it('counts 👍/👎 reactions on the answer as votes, also after a restart', async () => {
    const h = await startBot();
    const { answer, runId } = await answered(h);
    h.discord.react({ user: h.discord.users.bob, message: answer, emoji: '👎' });
    await eventually(async () => (await h.app.memory.episodes.get(runId))?.feedback.some((v) => v.userId === h.discord.users.bob.id));

    await h.bot.stop();
    const restarted = await h.restart();
    h.discord.react({ user: h.discord.users.carol, message: answer, emoji: '👍' });
    const episode = await eventually(async () => {
      const e = await restarted.context.app.memory.episodes.get(runId);
      return e?.feedback.length === 2 ? e : undefined;
    });
    expect(episode.feedback.map((v) => [v.userId, v.vote])).toEqual([
      [h.discord.users.bob.id, 'down'],
      [h.discord.users.carol.id, 'up'],
    ]);
  });
});
