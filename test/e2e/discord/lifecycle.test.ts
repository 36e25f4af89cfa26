import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeDiscord } from '../../fakes/discord/index.js';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { episodeStatus, freePort, processSetup, startBotProcess as startCairnBot, workingText, type Cleanups } from './bot-process.js';
import { buttons } from './harness.js';

const openai = useFakeOpenAi();
const cleanups: Cleanups = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

const setup = () => processSetup(cleanups, openai.baseURL);
const startBotProcess = (discord: FakeDiscord, env: Record<string, string>) => startCairnBot(discord, env, cleanups);

describe('the bot process', () => {
  it('on SIGTERM pauses a running run and exits within 10 s; the next start resumes it where it stopped', async () => {
    const { discord, dataDir, env } = await setup();
    const first = await startBotProcess(discord, env);
    openai.script({ kind: 'tool_calls', calls: [{ name: 'current_time', arguments: {} }] }, { kind: 'hang' }, { kind: 'text', content: 'It is late.' });
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'a long job' } });
    await discord.waitFor(() => (openai.chatRequests().length > 1 ? true : undefined), 10_000);
    const runId = await discord.waitFor(() => /run `([^`]+)`/.exec(i.original()?.content ?? '')?.[1]);

    const signalled = Date.now();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect(discord.channelMessages(discord.channels.general).some((m) => m.content.includes(`your run \`${runId}\` is paused and will carry on`))).toBe(true);
    // Not ended: it goes on at the next start.
    expect(await episodeStatus(dataDir, runId)).toBe('running');

    // The second process serves /metrics, /healthz and /readyz.
    const port = await freePort();
    const second = await startBotProcess(discord, { ...env, CAIRN_METRICS_PORT: String(port) });
    const answer = await discord.waitFor(() => i.followUps().find((m) => m.content.includes('It is late.')), 20_000);
    expect(answer.content).toBe('It is late.');
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    await expect.poll(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status, { timeout: 10_000 }).toBe(200);
    const metrics = () => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
    await expect.poll(metrics, { timeout: 10_000 }).toContain('cairn_runs_total{status="succeeded",trigger="slash"} 1');
    expect(await metrics()).toContain('cairn_runs_resumed_total 1');
    // The status message carried on to the end, and the thread says where the run went on from.
    await discord.waitFor(() => (i.original()?.content.includes('✅ **Done**') === true ? true : undefined), 10_000);
    expect(i.original()?.content).toContain('resumed after a restart');
    const thread = discord.threads().find((t) => t.starterMessageId === i.original()?.id || t.parentId === discord.channels.general);
    await discord.waitFor(() => (discord.channelMessages(thread?.id ?? '').some((m) => m.content.includes('Resumed after a restart')) ? true : undefined), 10_000);
    // Three model calls in all: the one the shutdown cut off was made again, the first was not.
    expect(openai.chatRequests()).toHaveLength(3);
    expect(i.followUps().filter((m) => m.content.includes('It is late.'))).toHaveLength(1);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(await episodeStatus(dataDir, runId)).toBe('succeeded');
  }, 60_000);

  it('after a crash mid-run (SIGKILL), the next start resumes the run once, without repeating a finished tool call', async () => {
    const { discord, dataDir, env } = await setup();
    const first = await startBotProcess(discord, env);
    openai.script(
      { kind: 'tool_calls', calls: [{ name: 'working_memory_append', arguments: { block: 'notes', text: 'pebble-4729' } }] },
      { kind: 'hang' },
      { kind: 'text', content: 'Noted the pebble.' },
    );
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'note the pebble' } });
    await discord.waitFor(() => (openai.chatRequests().length > 1 ? true : undefined), 10_000);
    const runId = await discord.waitFor(() => /run `([^`]+)`/.exec(i.original()?.content ?? '')?.[1]);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startBotProcess(discord, env);
    await discord.waitFor(() => i.followUps().find((m) => m.content.includes('Noted the pebble.')), 20_000);
    await discord.waitFor(() => (i.original()?.content.includes('✅ **Done**') === true ? true : undefined), 10_000);
    // Nothing announced it as interrupted: it went on.
    expect(discord.channelMessages(discord.channels.general).some((m) => m.content.includes('was interrupted'))).toBe(false);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(await episodeStatus(dataDir, runId)).toBe('succeeded');
    // The append ran once: replayed from the journal after the crash, not run again.
    expect((await workingText(dataDir, { userId: discord.users.alice.id, channelId: discord.channels.general })).match(/pebble-4729/g)).toHaveLength(1);
    expect(i.followUps().filter((m) => m.content.includes('Noted the pebble.'))).toHaveLength(1);
  }, 60_000);

  it('a mention answered when the crash came is answered after the restart, as a reply to it, once', async () => {
    const { discord, env } = await setup();
    const first = await startBotProcess(discord, env);
    openai.script({ kind: 'tool_calls', calls: [{ name: 'current_time', arguments: {} }] }, { kind: 'hang' }, { kind: 'text', content: 'Answered after the restart.' });
    const asked = discord.postMessage({ user: discord.users.alice, channelId: discord.channels.general, content: 'what time is it?', mentionBot: true });
    await discord.waitFor(() => (openai.chatRequests().length > 1 ? true : undefined), 10_000);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startBotProcess(discord, env);
    const answer = await discord.waitFor(() => discord.channelMessages(discord.channels.general).find((m) => m.content.includes('Answered after the restart.')), 20_000);
    expect(answer.replyTo).toBe(asked.id);
    expect(discord.channelMessages(discord.channels.general).filter((m) => m.content.includes('Answered after the restart.'))).toHaveLength(1);
    expect(discord.channelMessages(discord.channels.general).some((m) => m.content.includes('was interrupted'))).toBe(false);
    expect(openai.chatRequests()).toHaveLength(3);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 60_000);

  it('an answer cut off by a crash mid-delivery is delivered after the restart without posting its first part twice', async () => {
    const { discord, env } = await setup();
    const first = await startBotProcess(discord, env);
    const long = `PART-ONE ${'lorem ipsum '.repeat(130)}\n\nPART-TWO ${'dolor sit '.repeat(150)}`;
    openai.script({ kind: 'text', content: long });
    // The answer's second message never gets its reply: the process dies while posting it.
    discord.stallNext({ method: 'POST', path: new RegExp(`^/channels/${discord.channels.general}/messages$`), body: /PART-TWO/ });
    const asked = discord.postMessage({ user: discord.users.alice, channelId: discord.channels.general, content: 'write at length', mentionBot: true });
    const partOne = () => discord.channelMessages(discord.channels.general).filter((m) => m.content.startsWith('PART-ONE'));
    await discord.waitFor(() => (partOne().length > 0 && discord.requests.some((r) => JSON.stringify(r.body ?? null).includes('PART-TWO')) ? true : undefined), 15_000);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startBotProcess(discord, env);
    const partTwo = await discord.waitFor(() => discord.channelMessages(discord.channels.general).find((m) => m.content.startsWith('PART-TWO')), 20_000);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    // Delivered again from the journal: the first part came back from Discord (its nonce), not posted again.
    expect(partOne()).toHaveLength(1);
    expect(partOne()[0]?.replyTo).toBe(asked.id);
    expect(discord.channelMessages(discord.channels.general).filter((m) => m.content.startsWith('PART-TWO'))).toHaveLength(1);
    expect(partTwo.content).toContain('dolor sit');
    expect(openai.chatRequests()).toHaveLength(1);
  }, 60_000);

  it('an approval request posted before a crash still works after the restart: the same buttons, honoured once', async () => {
    const { discord, dataDir, env } = await setup();
    // write_file is medium risk: with this threshold it needs the starter's approval.
    const risky = { ...env, CAIRN_APPROVAL_RISK: 'medium', CAIRN_APPROVAL_TIMEOUT_S: '120' };
    const first = await startBotProcess(discord, risky);
    openai.script({ kind: 'tool_calls', calls: [{ name: 'write_file', arguments: { path: 'note.txt', content: 'hello' } }] }, { kind: 'text', content: 'All done.' });
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'Write a note' } });
    const request = await discord.waitFor(() => i.followUps().find((m) => m.content.startsWith('🔐')), 10_000);
    const runId = await discord.waitFor(() => /run `([^`]+)`/.exec(i.original()?.content ?? '')?.[1]);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startBotProcess(discord, risky);
    const approve = buttons(request).find((b) => b.label === 'Approve')?.customId ?? '';
    const press = discord.clickButton({ user: discord.users.alice, message: request, customId: approve });
    await press.acknowledged();
    await discord.waitFor(() => i.followUps().find((m) => m.content === 'All done.'), 20_000);
    expect(discord.message(request.id)?.content).toContain(`✅ Approved by <@${discord.users.alice.id}>.`);
    // The run waited on the request it had posted: no second one.
    expect(i.followUps().filter((m) => m.content.startsWith('🔐'))).toHaveLength(1);
    expect(await readdir(path.join(dataDir, 'workspaces', runId))).toEqual(['note.txt']);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 60_000);
});

describe('cairn deploy-commands', () => {
  it('registers the slash commands in a guild over REST alone', async () => {
    const { discord, env } = await setup();
    const { DISCORD_GUILD_ID: _unused, ...withoutGuild } = env;
    const child = spawn(process.execPath, [fileURLToPath(new URL('../../../src/bin/cairn.js', import.meta.url)), 'deploy-commands', '--guild', discord.guildId], { env: withoutGuild, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => {
        resolve(c);
      });
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/Registered 8 commands in guild \d+ \(available now\)/);
    expect((discord.registeredCommands({ guildId: discord.guildId }) as { name: string }[]).map((c) => c.name).sort()).toEqual(['Ask Cairn', 'agent', 'config', 'help', 'memory', 'runs', 'schedule', 'usage']);
    expect(discord.identify()).toBeUndefined(); // no gateway connection was needed
  });
});
