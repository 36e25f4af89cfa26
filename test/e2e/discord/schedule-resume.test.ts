import { afterEach, describe, expect, it } from 'vitest';
import type { FakeDiscord } from '../../fakes/discord/index.js';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { episodeStatus, processSetup, startBotProcess, workingText, type Cleanups } from './bot-process.js';
import { privateText } from './harness.js';

const openai = useFakeOpenAi();
const cleanups: Cleanups = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

function schedule(discord: FakeDiscord, subcommand: string, options: Record<string, string>) {
  return privateText(discord.slash({ user: discord.users.carol, channelId: discord.channels.general, name: 'schedule', subcommand, options }), discord);
}

const reports = (discord: FakeDiscord) => discord.channelMessages(discord.channels.general).filter((m) => m.content.includes('**Scheduled report**'));

describe('scheduled runs across restarts (embedded: one process, no queue)', () => {
  it('a scheduled run cut off by a crash (SIGKILL) goes on after the restart: one report, marked resumed, no finished tool call repeated', async () => {
    const { discord, dataDir, env } = await processSetup(cleanups, openai.baseURL);
    const first = await startBotProcess(discord, env, cleanups);
    const added = await schedule(discord, 'add', { cron: '0 9 * * *', goal: 'Note the pebble and report' });
    const id = /`([0-9a-z]{6})`/.exec(added)?.[1] ?? '';
    openai.script(
      { kind: 'tool_calls', calls: [{ name: 'working_memory_append', arguments: { block: 'notes', text: 'pebble-5813' } }] },
      { kind: 'hang' },
      { kind: 'text', content: 'The pebble is noted.' },
    );
    expect(await schedule(discord, 'run', { id })).toBe(`Running schedule \`${id}\` now; the report will be posted in <#${discord.channels.general}>.`);
    // The note is written and the second model call is under way when the process dies.
    await discord.waitFor(() => (openai.chatRequests().length > 1 ? true : undefined), 10_000);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startBotProcess(discord, env, cleanups);
    const report = await discord.waitFor(() => reports(discord)[0], 20_000);
    expect(report.content).toContain(`**Scheduled report** · \`${id}\` · resumed after a restart`);
    const runId = /run `([^`]+)`$/.exec(report.content)?.[1] ?? '';
    await discord.waitFor(() => discord.channelMessages(discord.channels.general).find((m) => m.content === 'The pebble is noted.'), 10_000);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    expect(reports(discord)).toHaveLength(1);
    expect(discord.channelMessages(discord.channels.general).filter((m) => m.content === 'The pebble is noted.')).toHaveLength(1);
    // Nothing announced it as interrupted, and it was not caught up as a new run: it went on.
    expect(discord.channelMessages(discord.channels.general).some((m) => m.content.includes('interrupted'))).toBe(false);
    expect(openai.chatRequests()).toHaveLength(3);
    expect(await episodeStatus(dataDir, runId)).toBe('succeeded');
    // The append ran once: replayed from the journal after the crash, not run again.
    expect((await workingText(dataDir, { userId: `schedule-${id}`, channelId: discord.channels.general })).match(/pebble-5813/g)).toHaveLength(1);
  }, 60_000);

  it('a report cut off by a crash mid-delivery is posted after the restart without its heading twice', async () => {
    const { discord, env } = await processSetup(cleanups, openai.baseURL);
    const first = await startBotProcess(discord, env, cleanups);
    const id = /`([0-9a-z]{6})`/.exec(await schedule(discord, 'add', { cron: '0 9 * * *', goal: 'Report the weather' }))?.[1] ?? '';
    openai.script({ kind: 'text', content: 'Sunny all day.' });
    // The heading is posted; the answer under it never gets its reply: the process dies while posting it.
    discord.stallNext({ method: 'POST', path: new RegExp(`^/channels/${discord.channels.general}/messages$`), body: /Sunny all day/ });
    await schedule(discord, 'run', { id });
    await discord.waitFor(() => (reports(discord).length > 0 && discord.requests.some((r) => JSON.stringify(r.body ?? null).includes('Sunny all day')) ? true : undefined), 15_000);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startBotProcess(discord, env, cleanups);
    await discord.waitFor(() => discord.channelMessages(discord.channels.general).find((m) => m.content === 'Sunny all day.'), 20_000);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(reports(discord)).toHaveLength(1);
    expect(discord.channelMessages(discord.channels.general).filter((m) => m.content === 'Sunny all day.')).toHaveLength(1);
    expect(openai.chatRequests()).toHaveLength(1);
  }, 60_000);

  it('on SIGTERM a scheduled run is paused, said so in its channel, and carries on at the next start', async () => {
    const { discord, env } = await processSetup(cleanups, openai.baseURL);
    const first = await startBotProcess(discord, env, cleanups);
    const added = await schedule(discord, 'add', { cron: '0 9 * * *', goal: 'Check the clock and report' });
    const id = /`([0-9a-z]{6})`/.exec(added)?.[1] ?? '';
    openai.script({ kind: 'tool_calls', calls: [{ name: 'current_time', arguments: {} }] }, { kind: 'hang' }, { kind: 'text', content: 'Clock checked.' });
    await schedule(discord, 'run', { id });
    await discord.waitFor(() => (openai.chatRequests().length > 1 ? true : undefined), 10_000);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const paused = discord.channelMessages(discord.channels.general).find((m) => m.content.includes('is paused and will carry on'));
    expect(paused?.content).toMatch(/^⏸️ Cairn is restarting: scheduled run `[^`]+` is paused and will carry on from where it stopped when Cairn is back\.$/);

    const second = await startBotProcess(discord, env, cleanups);
    const report = await discord.waitFor(() => reports(discord)[0], 20_000);
    expect(report.content).toContain('resumed after a restart');
    await discord.waitFor(() => discord.channelMessages(discord.channels.general).find((m) => m.content === 'Clock checked.'), 10_000);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(reports(discord)).toHaveLength(1);
    // The call the shutdown cut off was made again; the first was not.
    expect(openai.chatRequests()).toHaveLength(3);
  }, 60_000);
});
