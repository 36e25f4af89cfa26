import { describe, expect, it } from 'vitest';
import { ScheduleStore } from '../../../src/scheduler/store.js';
import type { FakeDiscord } from '../../fakes/discord/index.js';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { formatOf } from '../../agent/harness.js';
import { buttons, eventually, privateText, useBot } from './harness.js';

const openai = useFakeOpenAi();
const startBot = useBot(openai);
const FAST = { CAIRN_MIN_SCHEDULE_INTERVAL_S: '1' };

function schedule(discord: FakeDiscord, subcommand: string, options: Record<string, string | { channel: string }>, user = discord.users.carol) {
  return privateText(discord.slash({ user, channelId: discord.channels.general, name: 'schedule', subcommand, options }), discord);
}

const reportsIn = (discord: FakeDiscord, channelId: string) => discord.channelMessages(channelId).filter((m) => m.content.includes('**Scheduled report**'));

describe('/schedule through the real discord.js client', () => {
  it('refuses people without Manage Server, and bad cron, time zone or interval, clearly', async () => {
    const { discord } = await startBot();
    expect(await schedule(discord, 'add', { cron: '0 9 * * *', goal: 'Report' }, discord.users.alice)).toBe(
      'Managing schedules needs the Manage Server permission or one of the admin roles (CAIRN_ADMIN_ROLES).',
    );
    expect(await schedule(discord, 'add', { cron: '0 25 * * *', goal: 'Report' })).toMatch(/^"0 25 \* \* \*" is not a valid cron expression \(hour: 25 is out of range \(0–23\)\)/);
    expect(await schedule(discord, 'add', { cron: '0 9 * * *', goal: 'Report', timezone: 'Moon/Base' })).toBe(
      '"Moon/Base" is not an IANA time zone. Use a name like Europe/Oslo, America/New_York or UTC.',
    );
    expect(await schedule(discord, 'add', { cron: '*/5 * * * * *', goal: 'Report' })).toBe(
      '"*/5 * * * * *" runs as often as every 5 s; the shortest interval allowed here is 60 s (CAIRN_MIN_SCHEDULE_INTERVAL_S).',
    );
    expect(await schedule(discord, 'list', {}, discord.users.alice)).toBe('No schedules report in this channel.');
    expect(await schedule(discord, 'run', { id: 'abc123' })).toBe('There is no schedule `abc123` in this server. `/schedule list` shows them.');
  });

  it('delivers reports on cron with 👍/👎, posts on-change only when the finding changed, and can be paused', async () => {
    const { discord, app } = await startBot({ env: FAST });
    let answer = 'All systems operational.';
    openai.respondWith((body) => (formatOf(body) === 'report_change' ? { kind: 'text', content: JSON.stringify({ changed: true, what: 'API' }) } : { kind: 'text', content: answer }));
    const added = await schedule(discord, 'add', { cron: '* * * * * *', goal: 'Summarise the status page', notify: 'on-change', timezone: 'Europe/Oslo' });
    expect(added).toMatch(/^🗓️ Schedule `([0-9a-z]{6})` added: `\* \* \* \* \* \*` \(Europe\/Oslo\), notify on-change, reports in <#\d+>\.\n> Summarise the status page\nNext runs: <t:\d+:F>, <t:\d+:F>, <t:\d+:F>$/);
    const id = /`([0-9a-z]{6})`/.exec(added)?.[1] ?? '';

    const first = await discord.waitFor(() => reportsIn(discord, discord.channels.general)[0]);
    expect(first.content).toMatch(new RegExp(`^🗓️ \\*\\*Scheduled report\\*\\* · \`${id}\`\\n> Summarise the status page\\n(-# .*\\n)*-# 1 step · .* · run \`[^\`]+\`$`));
    const body = await discord.waitFor(() => discord.channelMessages(discord.channels.general).find((m) => m.content === 'All systems operational.'));
    expect(buttons(body).map((b) => b.emoji)).toEqual(['👍', '👎']);

    // Later firings find the same thing: nothing more is posted.
    await eventually(async () => ((await app.memory.episodes.list(`trigger = 'schedule'`, 100)).length >= 3 ? true : undefined));
    expect(reportsIn(discord, discord.channels.general)).toHaveLength(1);

    answer = 'The API is degraded since 08:40.';
    const changed = await discord.waitFor(() => reportsIn(discord, discord.channels.general)[1]);
    expect(changed.content).toContain('🔔 changed since the last report');

    // A report is the channel's: any member may rate it, like an answer.
    const click = discord.clickButton({ user: discord.users.alice, message: body, customId: buttons(body).find((b) => b.emoji === '👍')?.customId ?? '' });
    await click.acknowledged();
    const runId = /:([a-z0-9-]+)$/.exec(buttons(body)[0]?.customId ?? '')?.[1] ?? '';
    expect(await eventually(async () => (await app.memory.episodes.get(runId))?.feedback[0])).toMatchObject({ vote: 'up', userId: discord.users.alice.id });

    expect(await schedule(discord, 'pause', { id })).toBe(`Paused schedule \`${id}\`. \`/schedule resume id:${id}\` starts it again.`);
    const list = await schedule(discord, 'list', {});
    expect(list).toContain(`⏸️ \`${id}\` · \`* * * * * *\` Europe/Oslo · on-change`);
    expect(await schedule(discord, 'remove', { id })).toBe(`Removed schedule \`${id}\`.`);
  });

  it('does not overlap a slow run, and records a failed delivery and backs off', async () => {
    const { discord, app } = await startBot({ env: FAST });
    openai.respondWith(() => ({ kind: 'text', content: 'Slow report.', delayMs: 2_000 }));
    const general = new RegExp(`^/channels/${discord.channels.general}/messages$`);
    // More failures than discord.js retries: the post fails for good this time.
    discord.failNext({ method: 'POST', path: general }, { status: 503, code: 0, message: 'Service Unavailable' }, 10);
    const added = await schedule(discord, 'add', { cron: '* * * * * *', goal: 'Slow status check' });
    const id = /`([0-9a-z]{6})`/.exec(added)?.[1] ?? '';
    await discord.waitFor(() => openai.chatRequests().length > 0);
    // The cron fires every second while the first run takes two: none of those firings starts a run.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(openai.chatRequests()).toHaveLength(1);

    const store = new ScheduleStore(app.memory.db.schedules);
    const failed = await eventually(async () => {
      const s = await store.get(id);
      return s?.lastDeliveryError !== null && s?.lastDeliveryError !== undefined ? s : undefined;
    });
    expect(failed).toMatchObject({ status: 'active', lastStatus: 'succeeded', consecutiveFailures: 1, lastDeliveryAt: null });
    expect(failed.backoffUntil).toBeGreaterThan(Date.now() + 50_000);
    // Backing off: the firings of the next seconds run nothing.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(openai.chatRequests()).toHaveLength(1);
    expect(await schedule(discord, 'list', {})).toMatch(/1 failure\(s\) in a row; backing off until <t:\d+:R>\n-# last delivery failed: /);
  });

  it('records a channel it may not post in, pauses the schedule and tells its creator', async () => {
    const { discord, app } = await startBot();
    openai.respondWith(() => ({ kind: 'text', content: 'A report nobody can see.' }));
    const added = await schedule(discord, 'add', { cron: '0 9 * * *', goal: 'Report', channel: { channel: discord.channels.readOnly } });
    const id = /`([0-9a-z]{6})`/.exec(added)?.[1] ?? '';
    expect(await schedule(discord, 'run', { id })).toBe(`Running schedule \`${id}\` now; the report will be posted in <#${discord.channels.readOnly}>.`);
    const store = new ScheduleStore(app.memory.db.schedules);
    const paused = await eventually(async () => {
      const s = await store.get(id);
      return s?.status === 'paused' ? s : undefined;
    });
    expect(paused).toMatchObject({ status: 'paused', lastStatus: 'succeeded' });
    expect(paused.lastDeliveryError).toBe(`Cairn may not post in <#${discord.channels.readOnly}> (missing Send Messages)`);
    // Told by DM: a DM channel with the creator is opened for it.
    await discord.waitFor(() => discord.requests.find((r) => r.method === 'POST' && r.path === '/users/@me/channels' && JSON.stringify(r.body).includes(discord.users.carol.id)));
    const dm = await discord.waitFor(() =>
      discord.requests.find((r) => r.method === 'POST' && /^\/channels\/\d+\/messages$/.test(r.path) && JSON.stringify(r.body).includes(`Your schedule \`${id}\``)),
    );
    expect(JSON.stringify(dm.body)).toContain(`is paused: the report could not be posted: Cairn may not post in <#${discord.channels.readOnly}> (missing Send Messages). Fix the cause`);
    expect(await schedule(discord, 'list', {})).toContain('-# the report could not be posted: Cairn may not post in');
    // Other members see only the schedules of the channel they ask in.
    expect(await schedule(discord, 'list', {}, discord.users.alice)).toBe('No schedules report in this channel.');
  });

  it('reloads schedules after a restart and catches up a run missed while down', async () => {
    const h = await startBot();
    const added = await schedule(h.discord, 'add', { cron: '0 0 1 1 *', goal: 'Yearly review' });
    const id = /`([0-9a-z]{6})`/.exec(added)?.[1] ?? '';
    await new ScheduleStore(h.app.memory.db.schedules).update(id, () => ({ nextRunAt: Date.now() - 86_400_000 }));
    await h.bot.stop();
    openai.respondWith(() => ({ kind: 'text', content: 'Caught up on the year.' }));
    await h.restart();
    const report = await h.discord.waitFor(() => reportsIn(h.discord, h.discord.channels.general)[0]);
    expect(report.content).toContain('catch-up for a run missed while Cairn was down');
    await h.discord.waitFor(() => h.discord.channelMessages(h.discord.channels.general).find((m) => m.content === 'Caught up on the year.'));
    expect(await schedule(h.discord, 'list', {})).toContain(`▶️ \`${id}\``);
  });
});
