/**
 * Runs that go on later are checked against today's allow-lists: a run resumed after a restart,
 * and a schedule firing on its creator's behalf. A restart is how the lists change, and a
 * person's roles change in Discord without Cairn being told (no GuildMembers intent).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeDiscord } from '../../fakes/discord/index.js';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { episodeStatus, processSetup, startBotProcess, type Cleanups } from './bot-process.js';
import { privateText, useBot } from './harness.js';

const openai = useFakeOpenAi();
const startBot = useBot(openai);
const cleanups: Cleanups = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

const NOT_LISTED = 'You are not on the list of people who may use Cairn here.';
const reports = (discord: FakeDiscord) => discord.channelMessages(discord.channels.general).filter((m) => m.content.includes('**Scheduled report**'));
/** Message bodies the bot posted anywhere (DMs included), newest last. */
const posted = (discord: FakeDiscord) =>
  discord.requests.filter((r) => r.method === 'POST' && /^\/channels\/\d+\/messages$/.test(r.path) && r.status < 300).map((r) => JSON.stringify(r.body));

describe('runs that go on later are held to the allow-lists as they are then', () => {
  it('after a restart, a run whose starter lost the allowed role is ended and they are told why; the others resume', async () => {
    const { discord, dataDir, env } = await processSetup(cleanups, openai.baseURL);
    const listed = { ...env, CAIRN_ALLOWED_ROLES: discord.roles.member };
    openai.respondWith(() => ({ kind: 'hang' }));
    const first = await startBotProcess(discord, listed, cleanups);
    const alice = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'alice job' } });
    const carol = discord.slash({ user: discord.users.carol, channelId: discord.channels.general, name: 'agent', options: { goal: 'carol job' } });
    await discord.waitFor(() => (openai.chatRequests().length >= 2 ? true : undefined), 10_000);
    const runOf = (i: typeof alice) => discord.waitFor(() => /run `([^`]+)`/.exec(i.original()?.content ?? '')?.[1]);
    const [aliceRun, carolRun] = [await runOf(alice), await runOf(carol)];
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    // While Cairn was down, an admin took the member role from Alice.
    discord.setMemberRoles(discord.guildId, discord.users.alice.id, []);
    openai.respondWith(() => ({ kind: 'text', content: 'Finished.' }));
    const second = await startBotProcess(discord, listed, cleanups);
    await discord.waitFor(() => carol.followUps().find((m) => m.content === 'Finished.'), 20_000);
    const told = await discord.waitFor(() => discord.channelMessages(discord.channels.general).find((m) => m.content.includes(`run \`${aliceRun}\` was not resumed`)), 10_000);
    expect(told.content).toBe(`⚠️ <@${discord.users.alice.id}>, your run \`${aliceRun}\` was not resumed after Cairn restarted. ${NOT_LISTED} Ask a server admin to add you (CAIRN_ALLOWED_USERS or CAIRN_ALLOWED_ROLES).`);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    expect(alice.followUps().some((m) => m.content === 'Finished.')).toBe(false);
    expect(await episodeStatus(dataDir, aliceRun)).toBe('interrupted');
    expect(await episodeStatus(dataDir, carolRun)).toBe('succeeded');
    // Two calls cut off by the shutdown, then Carol's alone: Alice's run made no further call.
    expect(openai.chatRequests()).toHaveLength(3);
  }, 60_000);

  it('a schedule whose creator lost the allowed role is paused at its next firing, everywhere, and its creator told', async () => {
    const { discord } = await startBot({ env: (d) => ({ CAIRN_MIN_SCHEDULE_INTERVAL_S: '1', CAIRN_ALLOWED_ROLES: d.roles.admin }) });
    openai.respondWith(() => ({ kind: 'text', content: 'All quiet.' }));
    const schedule = (subcommand: string, options: Record<string, string>) =>
      privateText(discord.slash({ user: discord.users.carol, channelId: discord.channels.general, name: 'schedule', subcommand, options }), discord);
    const id = /`([0-9a-z]{6})`/.exec(await schedule('add', { cron: '* * * * * *', goal: 'Check the status page', notify: 'always' }))?.[1] ?? '';
    await discord.waitFor(() => reports(discord)[0], 10_000);

    // Carol keeps Manage Server through no role Cairn lists: only the member role is left.
    discord.setMemberRoles(discord.guildId, discord.users.carol.id, [discord.roles.member]);
    const note = await discord.waitFor(() => posted(discord).find((body) => body.includes(`schedule \`${id}\``) && body.includes('is paused')), 10_000);
    expect(note).toContain(`is paused: its creator may no longer use Cairn there (${NOT_LISTED} Ask a server admin to add you (CAIRN_ALLOWED_USERS or CAIRN_ALLOWED_ROLES)). Fix the cause, then \`/schedule resume id:${id}\`.`);
    // A run that started before the change may still end; nothing starts after it.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const settled = reports(discord).length;
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(reports(discord)).toHaveLength(settled);

    // Restored, she may manage it again: the list shows it paused.
    discord.setMemberRoles(discord.guildId, discord.users.carol.id, [discord.roles.member, discord.roles.admin]);
    expect(await schedule('list', {})).toContain(`⏸️ \`${id}\``);
  }, 30_000);

  it('a schedule whose creator left the server is paused at its next firing, saying so', async () => {
    const { discord } = await startBot({ env: (d) => ({ CAIRN_MIN_SCHEDULE_INTERVAL_S: '1', CAIRN_ALLOWED_ROLES: d.roles.admin }) });
    openai.respondWith(() => ({ kind: 'text', content: 'All quiet.' }));
    const added = await privateText(discord.slash({ user: discord.users.carol, channelId: discord.channels.general, name: 'schedule', subcommand: 'add', options: { cron: '* * * * * *', goal: 'Check the status page', notify: 'always' } }), discord);
    const id = /`([0-9a-z]{6})`/.exec(added)?.[1] ?? '';
    await discord.waitFor(() => reports(discord)[0], 10_000);
    discord.removeMember(discord.guildId, discord.users.carol.id);
    const note = await discord.waitFor(() => posted(discord).find((body) => body.includes(`schedule \`${id}\``) && body.includes('is paused')), 10_000);
    expect(note).toContain('is paused: its creator may no longer use Cairn there (You are no longer a member of this server).');
  }, 30_000);
});
