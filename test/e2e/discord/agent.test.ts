import { describe, expect, it } from 'vitest';
import { INTENTS } from '../../../src/discord/client.js';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { buttons, useBot } from './harness.js';

const openai = useFakeOpenAi();
const startBot = useBot(openai);

const timeThenAnswer = (answer = 'It is Sunday in Tokyo.') => {
  openai.script(
    { kind: 'tool_calls', content: 'Checking the clock.', calls: [{ name: 'current_time', arguments: { timezone: 'Asia/Tokyo' } }] },
    { kind: 'text', content: answer },
  );
};

describe('/agent through the real discord.js client', () => {
  it('connects with least-privilege intents and registers the slash commands in the guild', async () => {
    const { discord } = await startBot();
    const intents = discord.identify()?.intents ?? 0;
    expect(intents).toBe(INTENTS.reduce((a, b) => a | b, 0));
    // No privileged intent: GuildMembers (1<<1), GuildPresences (1<<8), MessageContent (1<<15).
    expect(intents & ((1 << 1) | (1 << 8) | (1 << 15))).toBe(0);
    const names = (discord.registeredCommands({ guildId: discord.guildId }) as { name: string }[]).map((c) => c.name).sort();
    expect(names).toEqual(['Ask Cairn', 'agent', 'config', 'help', 'memory', 'runs', 'schedule', 'usage']);
  });

  it('acknowledges at once, shows progress, summarises steps in a thread and answers with 👍/👎', async () => {
    const { discord, app } = await startBot();
    timeThenAnswer();
    const alice = discord.users.alice;
    const i = discord.slash({ user: alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'What day is it in Tokyo?' } });
    const ack = await i.acknowledged();
    expect(ack.type).toBe(5);
    const answer = await discord.waitFor(() => i.followUps().find((m) => m.content.includes('Sunday')));
    expect(buttons(answer).map((b) => b.emoji)).toEqual(['👍', '👎', '🔁']);

    const status = await discord.waitFor(() => (i.original()?.content.startsWith('✅') === true ? i.original() : undefined));
    expect(status.content).toMatch(/✅ \*\*Done\*\* · 2 steps · .* tokens · \$0\.\d+/);
    expect(status.content).toContain('> What day is it in Tokyo?');
    expect(buttons(status)).toEqual([]); // Cancel is gone once the run ended
    const thread = discord.threads()[0];
    expect(thread?.parentId).toBe(discord.channels.general);
    // Step summaries are batched (at most one thread message per 3 s per run), in order.
    const steps = await discord.waitFor(() => {
      const text = discord.channelMessages(thread?.id ?? '').map((m) => m.content).join('\n');
      return text.includes('**Step 2**') ? text : undefined;
    });
    expect(steps).toMatch(/^\*\*Step 1\*\* · calling `current_time` — \*Checking the clock\.\*\n✅ `current_time`.*\n\*\*Step 2\*\* · answer/s);
    // No link previews on run output (Discord's crawler would fetch any URL a model wrote: SuppressEmbeds, 1 << 2).
    const output = [answer, status, ...discord.channelMessages(thread?.id ?? '').filter((m) => m.authorId === discord.botUserId)];
    expect(output.map((m) => m.flags & 4)).toEqual(output.map(() => 4));

    const runId = /run `([^`]+)`/.exec(status.content)?.[1] ?? '';
    expect(await app.memory.episodes.get(runId)).toMatchObject({ status: 'succeeded', trigger: 'slash', scope: { userId: alice.id, channelId: discord.channels.general } });
  });

  it('with every slot taken, a run waits in line with its place shown, then starts when the slot frees', async () => {
    const { discord } = await startBot({ env: { CAIRN_MAX_CONCURRENT_RUNS: '1' } });
    openai.script({ kind: 'hang' }, { kind: 'text', content: 'Second answer.' });
    const first = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'first job' } });
    await discord.waitFor(() => (openai.chatRequests().length > 0 ? true : undefined));
    const second = discord.slash({ user: discord.users.bob, channelId: discord.channels.general, name: 'agent', options: { goal: 'second job' } });
    const waiting = await discord.waitFor(() => (second.original()?.content.startsWith('⏳') === true ? second.original() : undefined));
    expect(waiting.content).toContain('yours is **1st** in line');
    // Not refused, and not started: the one slot is the first run's.
    expect(openai.chatRequests()).toHaveLength(1);
    // The first run is cancelled: its slot goes to the run in line.
    const status = await discord.waitFor(() => first.original());
    const cancel = buttons(status).find((b) => b.label === 'Cancel')?.customId ?? '';
    await discord.clickButton({ user: discord.users.alice, message: status, customId: cancel }).acknowledged();
    const answer = await discord.waitFor(() => second.followUps().find((m) => m.content === 'Second answer.'));
    expect(answer.content).toBe('Second answer.');
    expect(second.original()?.content).toMatch(/✅ \*\*Done\*\*/);
  });

  it('keeps a private run private: ephemeral replies, no thread', async () => {
    const { discord } = await startBot();
    timeThenAnswer('Private answer.');
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'secret question', private: true } });
    const answer = await discord.waitFor(() => i.followUps().find((m) => m.content === 'Private answer.'));
    expect(i.ephemeral()).toBe(true);
    expect(answer.flags & 64).toBe(64);
    expect(discord.threads()).toEqual([]);
    expect(discord.channelMessages(discord.channels.general)).toEqual([]);
  });

  it('splits a long answer within 2,000 characters without breaking its code block', async () => {
    const { discord } = await startBot();
    const code = Array.from({ length: 150 }, (_, n) => `print("line ${n} of the generated report")`).join('\n');
    openai.script({ kind: 'text', content: `Here is the script:\n\`\`\`python\n${code}\n\`\`\`\nRun it with python3.` });
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'write a long script' } });
    const parts = await discord.waitFor(() => {
      const f = i.followUps();
      return f.at(-1)?.content.endsWith('Run it with python3.') === true ? f : undefined;
    });
    expect(parts.length).toBeGreaterThan(2);
    for (const p of parts) {
      expect(p.content.length).toBeLessThanOrEqual(2000);
      expect((p.content.match(/^```/gm) ?? []).length % 2).toBe(0);
    }
    expect(parts.slice(0, -1).every((p) => buttons(p).length === 0)).toBe(true);
    expect(buttons(parts.at(-1)).map((b) => b.emoji)).toEqual(['👍', '👎', '🔁']);
  });

  it('shows steps inline where the bot may not create threads', async () => {
    const { discord } = await startBot();
    timeThenAnswer();
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.noThreads, name: 'agent', options: { goal: 'What day is it in Tokyo?' } });
    const status = await discord.waitFor(() => (i.original()?.content.startsWith('✅') === true ? i.original() : undefined));
    expect(discord.threads()).toEqual([]);
    expect(status.content).toMatch(/\*\*Step 1\*\* · calling `current_time`/);
  });

  it('continues in the channel once the interaction token has expired (long runs)', async () => {
    // Discord's 15 minutes, scaled down: the fake expires tokens after 1.5 s, the bot stops using them after 1 s.
    const { discord } = await startBot({ discord: { interactionTokenTtlMs: 1_500 }, tokenLifetimeMs: 1_000 });
    openai.script(
      { kind: 'tool_calls', calls: [{ name: 'current_time', arguments: {} }], delayMs: 1_200 },
      { kind: 'text', content: 'Finished after a long while.', delayMs: 800 },
    );
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'a long job' } });
    const answer = await discord.waitFor(() => discord.channelMessages(discord.channels.general).find((m) => m.content === 'Finished after a long while.'), 10_000);
    expect(answer.interactionId).toBeUndefined(); // a channel message, not a follow-up
    expect(buttons(answer).map((b) => b.emoji)).toEqual(['👍', '👎', '🔁']);
    // The status (the original reply) was finished with the bot token, not the dead interaction token.
    await discord.waitFor(() => i.original()?.content.startsWith('✅'));
    expect(discord.requests.some((r) => r.method === 'PATCH' && r.path.startsWith(`/channels/${discord.channels.general}/messages/`))).toBe(true);
    expect(discord.requests.filter((r) => r.status === 401)).toEqual([]);
  });

  it('edits the status message at most about once a second, however fast the steps come', async () => {
    const { discord } = await startBot();
    // Eight quick steps (~150 ms each), then the answer.
    const zones = ['UTC', 'Asia/Tokyo', 'Europe/Oslo', 'America/Lima', 'Africa/Lagos', 'Asia/Kolkata', 'Europe/Riga', 'America/Quito'];
    openai.respondWith((_body, call) =>
      call < zones.length
        ? { kind: 'tool_calls', calls: [{ name: 'current_time', arguments: { timezone: zones[call] } }], delayMs: 150 }
        : { kind: 'text', content: 'Eight checks done.' },
    );
    const started = Date.now();
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'check the clock eight times' } });
    await discord.waitFor(() => (i.original()?.content.startsWith('✅') === true ? true : undefined), 10_000);
    const seconds = (Date.now() - started) / 1000;
    const edits = discord.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/messages/@original')).length;
    expect(seconds).toBeGreaterThan(1);
    // One per second while running, plus the first and the final edit.
    expect(edits).toBeLessThanOrEqual(Math.ceil(seconds) + 2);
  });

  it('rides out a 429 from Discord', async () => {
    const { discord } = await startBot();
    timeThenAnswer();
    discord.failNext({ method: 'POST', path: /^\/webhooks\// }, { status: 429, retryAfterS: 0.2 }, 1);
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'What day is it in Tokyo?' } });
    await discord.waitFor(() => i.followUps().find((m) => m.content.includes('Sunday')));
    expect(discord.requests.some((r) => r.status === 429)).toBe(true);
  });

  it('stops the run when its starter presses Cancel, and refuses anyone else’s press', async () => {
    const { discord, app } = await startBot();
    openai.respondWith(() => ({ kind: 'tool_calls', calls: [{ name: 'current_time', arguments: {} }], delayMs: 300 }));
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'loop slowly' } });
    const running = await discord.waitFor(() => (buttons(i.original()).some((b) => b.label === 'Cancel') ? i.original() : undefined));
    const cancel = buttons(running).find((b) => b.label === 'Cancel')?.customId ?? '';

    const bobPress = discord.clickButton({ user: discord.users.bob, message: running, customId: cancel });
    await bobPress.acknowledged();
    expect(bobPress.ephemeral()).toBe(true);
    expect(JSON.stringify(bobPress.callbacks[0]?.data)).toMatch(/Only <@\d+>, who started this run/);

    discord.clickButton({ user: discord.users.alice, message: running, customId: cancel });
    const status = await discord.waitFor(() => (i.original()?.content.startsWith('⏹️') === true ? i.original() : undefined), 8_000);
    expect(status.content).toMatch(/⏹️ \*\*Stopped\*\* — Cancelled\./);
    const runId = /run `([^`]+)`/.exec(status.content)?.[1] ?? '';
    expect((await app.memory.episodes.get(runId))?.status).toBe('stopped');
  });
});
