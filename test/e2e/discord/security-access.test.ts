/**
 * Security review findings about private data, access and spend, through the real bot and the
 * fake Discord: private runs write nothing where others read, every surface applies the
 * allow-lists, budgets hold across concurrent runs and restarts, and model output pings no one.
 */
import { describe, expect, it } from 'vitest';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { eventually, privateText, useBot } from './harness.js';

const openai = useFakeOpenAi();
const startBot = useBot(openai);

describe('private runs', () => {
  it('keep every memory they write private: a saved fact and a channel note never reach others', async () => {
    const { discord, app } = await startBot();
    openai.script(
      {
        kind: 'tool_calls',
        calls: [
          { name: 'memory_save', arguments: { text: 'Alice’s bank PIN is 4321.' } },
          { name: 'memory_save', arguments: { text: 'Alice’s locker code is 7788.', visibility: 'server', importance: 1 } },
          { name: 'working_memory_append', arguments: { block: 'channel notes', text: 'PIN 4321' } },
        ],
      },
      { kind: 'text', content: 'Noted, privately.' },
    );
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'remember my PIN 4321 and locker code 7788', private: true } });
    await discord.waitFor(() => i.followUps().find((m) => m.content === 'Noted, privately.'));
    const results = JSON.stringify(openai.chatRequests()[1]?.messages.slice(-3));
    expect(results).toContain('(private');
    expect(results).toContain('private run');

    const bobs = await privateText(discord.slash({ user: discord.users.bob, channelId: discord.channels.general, name: 'memory', subcommand: 'search', options: { query: 'PIN locker code' } }), discord);
    expect(bobs).not.toMatch(/4321|7788/);
    const alices = await privateText(discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'memory', subcommand: 'search', options: { query: 'PIN locker code' } }), discord);
    expect(alices).toMatch(/🔒 fact .*4321/);
    expect(alices).toMatch(/🔒 fact .*7788/);
    const saved = await app.memory.semantic.list(`kind = 'fact'`);
    // A model may not claim importance 1 (stored as float32).
    expect(Math.max(...saved.map((m) => m.importance))).toBeCloseTo(0.7, 5);
    expect((await app.memory.working.view(`channel:${discord.channels.general}`, 'channel notes')).text).toBe('');
  });
});

describe('the allow-lists apply everywhere', () => {
  it('refuses commands, buttons, DMs and reactions the lists do not admit', async () => {
    const { discord, app } = await startBot({ env: (d) => ({ CAIRN_ALLOWED_USERS: d.users.alice.id, CAIRN_ALLOWED_CHANNELS: d.channels.general }) });
    const { alice, bob } = discord.users;
    const { general, noThreads } = discord.channels;
    const memory = (user: typeof alice, channelId: string) => privateText(discord.slash({ user, channelId, name: 'memory', subcommand: 'search', options: { query: 'anything' } }), discord);
    const runs = (user: typeof alice, channelId: string) => privateText(discord.slash({ user, channelId, name: 'runs', subcommand: 'list' }), discord);
    expect(await memory(bob, general)).toMatch(/not on the list of people who may use Cairn/);
    expect(await runs(bob, general)).toMatch(/not on the list of people who may use Cairn/);
    expect(await memory(alice, noThreads)).toMatch(/does not work in this channel/);
    expect(await runs(alice, noThreads)).toMatch(/does not work in this channel/);
    expect(await memory(alice, general)).toBe('Nothing matches.');

    // DMs are not listed: refused, with no model call.
    const dm = discord.dm({ user: alice, content: 'hello there' });
    await discord.waitFor(() => discord.channelMessages(dm.channelId).find((m) => /does not answer direct messages/.test(m.content)));

    openai.script({ kind: 'text', content: 'Allowed answer.' });
    const i = discord.slash({ user: alice, channelId: general, name: 'agent', options: { goal: 'hi' } });
    const answer = await discord.waitFor(() => i.followUps().find((m) => m.content === 'Allowed answer.'));
    const runId = /run `([^`]+)`/.exec(i.original()?.content ?? '')?.[1] ?? '';
    discord.react({ user: bob, message: answer, emoji: '👎' });
    discord.react({ user: alice, message: answer, emoji: '👍' });
    const feedback = await eventually(async () => {
      const votes = (await app.memory.episodes.get(runId))?.feedback ?? [];
      return votes.length > 0 ? votes : undefined;
    });
    expect(feedback.map((v) => v.userId)).toEqual([alice.id]);
    expect(openai.chatRequests()).toHaveLength(1);
  });

  it('rate-limits commands per person', async () => {
    const { discord } = await startBot({ env: { CAIRN_COMMANDS_PER_MINUTE: '2' } });
    const help = (user = discord.users.bob) => privateText(discord.slash({ user, channelId: discord.channels.general, name: 'help' }), discord);
    expect(await help()).not.toMatch(/Slow down/);
    expect(await help()).not.toMatch(/Slow down/);
    expect(await help()).toMatch(/at most 2 commands a minute/);
    expect(await help(discord.users.alice)).not.toMatch(/Slow down/);
  });
});

describe('the daily budget', () => {
  it('holds each run’s cost limit while it runs, so concurrent runs cannot spend past the budget', async () => {
    const { discord } = await startBot({ env: { CAIRN_DAILY_BUDGET_USD: '2', CAIRN_MAX_COST_USD: '1' } });
    openai.respondWith(() => ({ kind: 'hang' }));
    const start = () => discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'a long job' } });
    for (const i of [start(), start()]) expect((await i.acknowledged()).type).toBe(5);
    expect(await privateText(start(), discord)).toMatch(/daily budget of \$2\.00 \(or it is held by your runs in progress\)/);
    // Someone else has their own budget.
    expect((await discord.slash({ user: discord.users.bob, channelId: discord.channels.general, name: 'agent', options: { goal: 'hi' } }).acknowledged()).type).toBe(5);
  });

  it('bills a scheduled run to its creator, across a restart, and lists it in the creator’s runs', async () => {
    const h = await startBot();
    const { discord } = h;
    openai.respondWith(() => ({ kind: 'text', content: 'All green.' }));
    const added = await privateText(discord.slash({ user: discord.users.carol, channelId: discord.channels.general, name: 'schedule', subcommand: 'add', options: { cron: '0 0 1 1 *', goal: 'Check the status page' } }), discord);
    const scheduleId = /`([0-9a-z]{6})`/.exec(added)?.[1] ?? '';
    await privateText(discord.slash({ user: discord.users.carol, channelId: discord.channels.general, name: 'schedule', subcommand: 'run', options: { id: scheduleId } }), discord);
    const run = await eventually(async () => (await h.app.memory.episodes.list(`trigger = 'schedule'`, 5)).find((e) => e.status === 'succeeded'));
    expect(run.costUsd).toBeGreaterThan(0);
    const spent = await eventually(async () => {
      await h.app.memory.settled();
      const usd = h.app.budget.spentToday(discord.users.carol.id);
      return usd > 0 ? usd : undefined;
    });
    expect(spent).toBeCloseTo(run.costUsd ?? 0, 10);

    await h.bot.stop();
    const again = await h.restart();
    expect(again.context.app.budget.spentToday(discord.users.carol.id)).toBeCloseTo(spent, 10);
    expect(again.context.app.budget.spentToday(`schedule-${scheduleId}`)).toBe(0);
    const list = await privateText(discord.slash({ user: discord.users.carol, channelId: discord.channels.general, name: 'runs', subcommand: 'list' }), discord);
    expect(list).toContain(run.id);
  });
});

describe('notices and pings', () => {
  it('tells only its starter, by DM, that a private run was interrupted by a restart', async () => {
    const h = await startBot();
    const { discord } = h;
    const scope = { userId: discord.users.alice.id, channelId: discord.channels.general, guildId: discord.guildId };
    // A private run a crash left "running".
    await h.app.memory.episodes.begin({ id: 'mz0private-aaaaaa', goal: 'my secret plan', mode: 'react', trigger: 'slash', scope, visibility: 'private', startedAt: Date.now() });
    await h.bot.stop();
    await h.restart();
    const notice = await discord.waitFor(() =>
      discord.requests.find((r) => r.method === 'POST' && /^\/channels\/\d+\/messages$/.test(r.path) && JSON.stringify(r.body).includes('mz0private-aaaaaa')),
    );
    expect(notice.path).not.toBe(`/channels/${discord.channels.general}/messages`);
    expect(JSON.stringify(notice.body)).not.toContain('my secret plan');
    expect(discord.channelMessages(discord.channels.general).some((m) => m.content.includes('mz0private-aaaaaa'))).toBe(false);
  });

  it('posts answers that mention people or everyone without pinging anyone', async () => {
    const { discord } = await startBot();
    const text = `Done. <@${discord.users.bob.id}> @everyone <@&${discord.roles.member}> look!`;
    openai.script({ kind: 'text', content: text });
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'ping people' } });
    await discord.waitFor(() => i.followUps().find((m) => m.content === text));
    const sent = discord.requests.find((r) => r.method === 'POST' && JSON.stringify(r.body).includes('look!'));
    expect((sent?.body as { allowed_mentions?: unknown } | undefined)?.allowed_mentions).toEqual({ parse: [], replied_user: false });
  });
});
