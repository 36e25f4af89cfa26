/**
 * A conversation past the turns kept says so and continues from a summary, in a DM, a thread and a
 * reply chain; a long conversation's prompt stays within the model's window.
 */
import { describe, expect, it } from 'vitest';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { fakePromptTokens } from '../../fakes/openai-server.js';
import { useBot } from './harness.js';
import { cairnSaid, earlierTurns, echoModel, requestFor } from './conversation-helpers.js';

const openai = useFakeOpenAi();
const startBot = useBot(openai);
/** One person sends many messages here: lift the per-minute limits (default 6 runs a minute). */
const MANY_RUNS = { CAIRN_RUNS_PER_MINUTE: '100', CAIRN_COMMANDS_PER_MINUTE: '100' };

describe('a conversation past the turns kept', () => {
  it('in a DM: says so, shows the summary, and the conversation carries on from it', async () => {
    const { discord } = await startBot({ env: { CAIRN_CONVERSATION_MAX_TURNS: '10', ...MANY_RUNS } });
    echoModel(openai);
    const { alice } = discord.users;
    let dmChannel = '';
    for (let i = 1; i <= 5; i++) {
      dmChannel = discord.dm({ user: alice, content: `Fact ${i}: the ${['red', 'blue', 'green', 'gold', 'grey'][i - 1]} box holds item ${i}.` }).channelId;
      await cairnSaid(discord, dmChannel, `Answer to: Fact ${i}:`);
    }
    expect(earlierTurns(requestFor(openai, 'Fact 5: the grey box holds item 5.'))).toHaveLength(8);

    const sixth = discord.dm({ user: alice, content: 'Which box holds item 1?' });
    const note = await cairnSaid(discord, dmChannel, 'This conversation reached 10 turns');
    expect(note.replyTo).toBe(sixth.id);
    expect(note.content).toMatch(/It carries on here from this summary:\n>>> - Alice: Fact 1: the red box holds item 1\./);
    await cairnSaid(discord, dmChannel, 'Answer to: Which box holds item 1?');
    // The answer's prompt holds the summary (the first turn and the latest ones), not the old turns.
    const after = earlierTurns(requestFor(openai, 'Which box holds item 1?'));
    expect(after).toHaveLength(1);
    expect(after[0]?.content).toMatch(/^Summary of the earlier conversation, which reached 10 turns[\s\S]*Fact 1: the red box[\s\S]*Fact 5: the grey box/);

    discord.dm({ user: alice, content: 'And item 5?' });
    await cairnSaid(discord, dmChannel, 'Answer to: And item 5?');
    expect(earlierTurns(requestFor(openai, 'And item 5?')).map((m) => m.content.slice(0, 30))).toEqual([
      'Summary of the earlier convers',
      'Which box holds item 1?',
      'Answer to: Which box holds ite',
    ]);
  });

  it('in a reply chain: replying to the note continues from the summary', async () => {
    const { discord } = await startBot({ env: { CAIRN_CONVERSATION_MAX_TURNS: '10', ...MANY_RUNS } });
    echoModel(openai);
    const general = discord.channels.general;
    let last = discord.postMessage({ user: discord.users.bob, channelId: general, content: 'Turn 1 of a long chain', mentionBot: true });
    for (let i = 1; i <= 5; i++) {
      const answer = await cairnSaid(discord, general, `Answer to: Turn ${i} of a long chain`);
      if (i < 5) last = discord.postMessage({ user: discord.users.bob, channelId: general, content: `Turn ${i + 1} of a long chain`, replyTo: answer.id });
      else last = discord.postMessage({ user: discord.users.bob, channelId: general, content: 'Turn 6 of a long chain', replyTo: answer.id });
    }
    const note = await cairnSaid(discord, general, 'This conversation reached 10 turns');
    expect(note.replyTo).toBe(last.id);
    expect(note.content).toContain('Reply to this message to carry on from this summary');
    await cairnSaid(discord, general, 'Answer to: Turn 6 of a long chain');
    discord.postMessage({ user: discord.users.bob, channelId: general, content: 'Back to the summary', replyTo: note.id });
    await cairnSaid(discord, general, 'Answer to: Back to the summary');
    const turns = earlierTurns(requestFor(openai, 'Back to the summary'));
    expect(turns[0]?.content).toMatch(/^Summary of the earlier conversation/);
  });
});

describe('a long conversation', () => {
  it('keeps every prompt within the model’s window, the oldest turns condensed first', async () => {
    const window = 4_096;
    const { discord } = await startBot({ env: { CAIRN_CONTEXT_TOKENS: String(window), ...MANY_RUNS } });
    // Long answers: 24 turns of them are far more than the window.
    echoModel(openai, (goal) => `Answer to: ${goal} ${'and more detail '.repeat(60)}`);
    const { alice } = discord.users;
    const dm = discord.dm({ user: alice, content: 'Turn 1: the code word is heron.' }).channelId;
    await cairnSaid(discord, dm, 'Answer to: Turn 1:');
    for (let i = 2; i <= 12; i++) {
      discord.dm({ user: alice, content: `Turn ${i}: nothing new.` });
      await cairnSaid(discord, dm, `Answer to: Turn ${i}:`);
    }
    const last = requestFor(openai, 'Turn 12: nothing new.');
    expect(last).toBeDefined();
    for (const body of openai.chatRequests()) expect(fakePromptTokens(body)).toBeLessThanOrEqual(window);
    const turns = earlierTurns(last);
    // The first turn is still there (condensed), and the newest earlier turns are whole.
    expect(turns[0]?.content).toMatch(/Earlier in this conversation, condensed[\s\S]*- the user: Turn 1: the code word is heron\./);
    expect(turns.at(-1)?.content).toMatch(/^Answer to: Turn 11: nothing new\. (and more detail ){59}/);
  });
});
