/**
 * Usage you can see, and server budgets, through the real bot and the fake Discord's two servers:
 * a server's daily budget stops runs and scheduled runs with a clear refusal, its admins are told
 * once a day at 80%, and `/usage` shows each person their own numbers and a server's admins that
 * server's — never another server's, never a private run's goal.
 */
import { describe, expect, it } from 'vitest';
import type { FakeDiscord, FakeInteraction, FakeUser } from '../../fakes/discord/index.js';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import type { App } from '../../../src/app.js';
import { registerCommands } from '../../../src/discord/bot.js';
import { ScheduleStore } from '../../../src/scheduler/store.js';
import { eventually, privateText, useBot, type BotHarness } from './harness.js';

const openai = useFakeOpenAi();
const startBotInOneGuild = useBot(openai);

/** Every completion token costs $0.01 and prompts nothing, so a run's cost is exactly scripted. */
const PRICED = { CAIRN_PRICES: JSON.stringify({ 'gpt-4o-mini': { inputPerMTok: 0, outputPerMTok: 10_000 } }) };
const NOTICE = "For this server's admins:";

/** The bot, with its commands also in the other server and in DMs, as a bot in many servers has them. */
async function startBot(env: Record<string, string> = {}): Promise<BotHarness> {
  const h = await startBotInOneGuild({ env: { ...PRICED, ...env } });
  await registerCommands(h.bot.client.rest, h.discord.applicationId, h.discord.guilds.other);
  await registerCommands(h.bot.client.rest, h.discord.applicationId, undefined);
  return h;
}

/** A run answered with `answer` that costs `usd` (in cents of completion tokens), settled before it returns. */
async function run(
  h: { discord: FakeDiscord; app: App },
  user: FakeUser,
  goal: string,
  usd: number,
  place: { dm?: boolean; private?: boolean } = {},
): Promise<FakeInteraction> {
  const { discord, app } = h;
  const answer = `Done: ${goal}`;
  openai.script({ kind: 'text', content: answer, usage: { prompt: 10, completion: Math.round(usd * 100) } });
  const i = discord.slash({ user, channelId: discord.channels.general, ...(place.dm === true ? { dm: true } : {}), name: 'agent', options: { goal, ...(place.private === true ? { private: true } : {}) } });
  await discord.waitFor(() => i.followUps().find((m) => m.content === answer));
  // The answer is posted before the run's hold is settled.
  await eventually(() => Promise.resolve(app.budget.heldNow(user.id) === 0));
  await app.memory.settled();
  return i;
}

const usageOf = (discord: FakeDiscord, user: FakeUser, channelId: string, dm = false) => discord.slash({ user, channelId, ...(dm ? { dm: true } : {}), name: 'usage' });
const notices = (discord: FakeDiscord) => discord.channelMessages(discord.channels.general).filter((m) => m.content.includes(NOTICE));

describe('a server’s daily budget', () => {
  it('stops new /agent runs in that server once spent, saying which budget, when it resets and who can change it', async () => {
    const h = await startBot({ CAIRN_SERVER_DAILY_BUDGET_USD: '0.5' });
    const { discord } = h;
    await run(h, discord.users.alice, 'spend it all', 0.5);
    const calls = openai.chatRequests().length;
    const refused = await privateText(discord.slash({ user: discord.users.bob, channelId: discord.channels.general, name: 'agent', options: { goal: 'one more' } }), discord);
    expect(refused).toMatch(
      /^This server's daily budget of \$0\.50 is used up \(\$0\.50 spent today\)\. It resets at 00:00 UTC \(in about \d+ h\)\. Server admins can change it with `\/config set server_daily_budget_usd`\.$/,
    );
    // A mention is refused the same way, privately; no model call was made for either.
    discord.postMessage({ user: discord.users.bob, channelId: discord.channels.general, content: 'one more please', mentionBot: true });
    await discord.waitFor(() => discord.requests.find((r) => r.method === 'POST' && JSON.stringify(r.body).includes("This server's daily budget of $0.50 is used up")));
    expect(openai.chatRequests()).toHaveLength(calls);
    // Bob's own DMs are not the server's spend.
    await run(h, discord.users.bob, 'in a DM', 0.1, { dm: true });
  });

  it('skips scheduled runs in a spent server, on the record, telling the creator once', async () => {
    const h = await startBot({ CAIRN_SERVER_DAILY_BUDGET_USD: '0.5' });
    const { discord } = h;
    const added = await privateText(discord.slash({ user: discord.users.carol, channelId: discord.channels.general, name: 'schedule', subcommand: 'add', options: { cron: '0 0 1 1 *', goal: 'Check the status page' } }), discord);
    const id = /`([0-9a-z]{6})`/.exec(added)?.[1] ?? '';
    await run(h, discord.users.alice, 'spend it all', 0.5);
    const calls = openai.chatRequests().length;

    const fired = await h.bot.context.scheduler.fire(id, 'cron');
    expect(fired).toEqual({ started: false, why: expect.stringMatching(/^this server's daily budget of \$0\.50 is spent .*`\/config set server_daily_budget_usd`\.$/) as string });
    const stored = await new ScheduleStore(h.app.memory.db.schedules).get(id);
    expect(stored).toMatchObject({ lastStatus: 'stopped', lastRunId: null, consecutiveFailures: 0, status: 'active' });
    expect(stored?.lastRunAt).toBeGreaterThan(0);
    const told = () => discord.requests.filter((r) => r.method === 'POST' && JSON.stringify(r.body).includes(`Your schedule \`${id}\``));
    const note = await discord.waitFor(() => told()[0]);
    expect(JSON.stringify(note.body)).toContain("was skipped: this server's daily budget of $0.50 is spent");
    // The next firing is skipped too, without telling again; a person asking is told why.
    await h.bot.context.scheduler.fire(id, 'cron');
    expect(await privateText(discord.slash({ user: discord.users.carol, channelId: discord.channels.general, name: 'schedule', subcommand: 'run', options: { id } }), discord)).toMatch(
      new RegExp(`^Schedule \`${id}\` was not run: this server's daily budget of \\$0\\.50 is spent`),
    );
    expect(told()).toHaveLength(1);
    expect(openai.chatRequests()).toHaveLength(calls);
  });

  it('tells the server’s admins once per day when 80% is spent, in the channel of the run, also across a restart', async () => {
    const h = await startBot({ CAIRN_SERVER_DAILY_BUDGET_USD: '1' });
    const { discord } = h;
    await run(h, discord.users.alice, 'half', 0.5);
    expect(notices(discord)).toEqual([]);
    await run(h, discord.users.bob, 'more', 0.35);
    const notice = await discord.waitFor(() => notices(discord)[0]);
    expect(notice.content).toMatch(
      /^⚠️ \*\*For this server's admins:\*\* Cairn has spent \$0\.85 of this server's daily budget of \$1\.00 today \(85%\)\. New runs and scheduled runs stop once it is spent; it resets at 00:00 UTC \(in about \d+ h\)\. Change it with `\/config set server_daily_budget_usd`; `\/usage` shows who and what spent it\.$/,
    );
    await run(h, discord.users.alice, 'a little more', 0.05);
    await h.bot.stop();
    const again = await h.restart();
    await run({ discord, app: again.context.app }, discord.users.bob, 'after the restart', 0.05);
    expect(notices(discord)).toHaveLength(1);
  });
});

describe('/usage', () => {
  it('shows a person their own runs, tokens and cost against their budgets, and nothing of the server', async () => {
    const h = await startBot({ CAIRN_SERVER_DAILY_BUDGET_USD: '10' });
    const { discord } = h;
    await run(h, discord.users.alice, 'Summarise the changelog', 0.3);
    await run(h, discord.users.alice, 'a DM question', 0.2, { dm: true });
    await run(h, discord.users.bob, 'Bob’s own job', 0.4);
    const i = usageOf(discord, discord.users.alice, discord.channels.general);
    const text = await privateText(i, discord);
    expect(text).toMatch(/^\*\*Your usage\*\*/);
    expect(text).toMatch(/\nToday: 2 runs · \d+ tokens · \$0\.50\n/);
    expect(text).toMatch(/\nThis month: 2 runs · \d+ tokens · \$0\.50\n/);
    expect(text).toContain('Your daily budget: $0.50 of $5.00 spent today (10%)');
    expect(text).toContain('This server’s daily budget: $0.70 of $10.00 spent today (7%)');
    expect(text).not.toContain(discord.users.bob.id);
    // No admin section for a member.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(i.followUps()).toEqual([]);
    // In a DM: the same numbers of one's own, no server's budget.
    const dm = await privateText(usageOf(discord, discord.users.alice, discord.channels.general, true), discord);
    expect(dm).toContain('Today: 2 runs');
    expect(dm).not.toContain('This server');
  });

  it('gives an admin the server’s totals by person and schedule and its costliest runs — private goals hidden — and another server’s admin none of it', async () => {
    const h = await startBot();
    const { discord } = h;
    const { alice, bob, carol, mallory } = discord.users;
    await run(h, alice, 'Summarise the changelog', 0.3);
    await run(h, bob, 'my secret plan', 0.5, { private: true });
    await run(h, alice, 'a DM question', 0.9, { dm: true });
    const added = await privateText(discord.slash({ user: carol, channelId: discord.channels.general, name: 'schedule', subcommand: 'add', options: { cron: '0 0 1 1 *', goal: 'Check the status page' } }), discord);
    const scheduleId = /`([0-9a-z]{6})`/.exec(added)?.[1] ?? '';
    openai.script({ kind: 'text', content: 'All green.', usage: { prompt: 10, completion: 10 } });
    await privateText(discord.slash({ user: carol, channelId: discord.channels.general, name: 'schedule', subcommand: 'run', options: { id: scheduleId } }), discord);
    await eventually(async () => (await h.app.usage.forServer(discord.guildId, 0)).length === 3 || undefined);

    const i = usageOf(discord, carol, discord.channels.general);
    // Carol's own part: her scheduled run is billed to her.
    expect(await privateText(i, discord)).toMatch(/\nToday: 1 run · \d+ tokens · \$0\.10\n/);
    const admin = await discord.waitFor(() => i.followUps()[0]);
    expect(admin.flags & 64).toBe(64);
    const text = admin.content;
    expect(text).toMatch(/^\*\*This server\*\* \(shown to its admins\)\nToday: 3 runs · \d+ tokens · \$0\.90\n/);
    expect(text).toContain(`• <@${bob.id}> — $0.50 · 1 run (today $0.50, 1 run)`);
    expect(text).toContain(`• <@${alice.id}> — $0.30 · 1 run (today $0.30, 1 run)`);
    expect(text).toContain(`• \`${scheduleId}\` — $0.10 · 1 run (today $0.10, 1 run)`);
    expect(text).toMatch(/\*\*Top runs by cost\*\*, this month\n• `[^`]+` \$0\.50 — \*\(a private run\)\* · <@\d+>\n• `[^`]+` \$0\.30 — Summarise the changelog/);
    // Neither a private run's goal nor anything from a DM.
    expect(text).not.toContain('my secret plan');
    expect(text).not.toContain('a DM question');
    expect(text).not.toContain('$0.90 · 1 run');

    // mallory administers the other server: there, she sees that server's (empty) numbers only.
    const other = usageOf(discord, mallory, discord.channels.otherGeneral);
    expect(await privateText(other, discord)).toContain('Today: nothing yet');
    const otherAdmin = (await discord.waitFor(() => other.followUps()[0])).content;
    expect(otherAdmin).toContain('Today: nothing yet');
    for (const leak of [alice.id, bob.id, scheduleId, 'Summarise the changelog']) expect(otherAdmin).not.toContain(leak);
    // In the main server she is a plain member: no server section.
    const member = usageOf(discord, mallory, discord.channels.general);
    await privateText(member, discord);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(member.followUps()).toEqual([]);
  });
});
