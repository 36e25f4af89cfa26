/**
 * Cairn split in processes over a real redis-server: one gateway (`cairn bot --no-worker`) and
 * three workers (`cairn worker`), through the fake Discord and the fake model server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeDiscord } from '../../fakes/discord/index.js';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { useRedisServer } from '../../support/use-redis-server.js';
import { episodeStatus, freePort, processSetup, spawnCairn, startBotProcess, workingText, type CairnProcess, type Cleanups } from './bot-process.js';
import { buttons, privateText } from './harness.js';
import { formatOf } from '../../agent/harness.js';
import { silentLogger } from '../../../src/log.js';
import { createEmbedder } from '../../../src/memory/embedders/index.js';
import { Memory } from '../../../src/memory/memory.js';

const openai = useFakeOpenAi();
const cleanups: Cleanups = [];
const redisServer = useRedisServer();
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  // Each test starts from an empty queue.
  const { Redis } = await import('ioredis');
  const client = new Redis(redisServer().url);
  await client.flushall();
  await client.quit();
});

interface Worker extends CairnProcess {
  metrics(): Promise<string>;
}

/** A gateway and `count` workers on one data directory and one Redis; resolves when all are ready. */
async function deployment(
  count: number,
  extra: Record<string, string> | ((discord: FakeDiscord) => Record<string, string>) = {},
  { proxy = false } = {},
): Promise<{ discord: FakeDiscord; dataDir: string; gateway: CairnProcess; gatewayMetrics: () => Promise<string>; workers: Worker[]; addWorker: () => Promise<Worker> }> {
  const { discord, dataDir, env } = await processSetup(cleanups, openai.baseURL);
  // A worker that stops answering loses its runs after a second (30 s by default).
  let shared: Record<string, string> = { ...env, ...(typeof extra === 'function' ? extra(discord) : extra), CAIRN_REDIS_URL: redisServer().url, CAIRN_QUEUE_LOCK_S: '1' };
  if (proxy) {
    // One REST budget: the proxy forwards to (fake) Discord, every other process goes through it.
    const port = await freePort();
    const started = spawnCairn(['rest-proxy'], { ...shared, CAIRN_REST_PROXY_PORT: String(port) }, cleanups);
    await discord.waitFor(async () => (await fetch(`http://127.0.0.1:${port}/api/v10/gateway`).then(() => true, () => false)) || started.child.exitCode !== null, 20_000);
    if (started.child.exitCode !== null) throw new Error(`the REST proxy exited early: ${started.stderr()}`);
    shared = { ...shared, DISCORD_REST_URL: `http://127.0.0.1:${port}/api` };
  }
  const addWorker = async (): Promise<Worker> => {
    const port = await freePort();
    const worker = spawnCairn(['worker'], { ...shared, CAIRN_METRICS_PORT: String(port) }, cleanups);
    const url = `http://127.0.0.1:${port}`;
    await discord.waitFor(async () => (await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false)) || worker.child.exitCode !== null, 30_000);
    if (worker.child.exitCode !== null) throw new Error(`a worker exited early: ${worker.stderr()}`);
    // A worker that is gone has no metrics: ''.
    return { ...worker, metrics: () => fetch(`${url}/metrics`).then((r) => r.text(), () => '') };
  };
  // Started at once, as a deployment starts them: they open the same database together.
  const workers = await Promise.all(Array.from({ length: count }, addWorker));
  const gatewayPort = await freePort();
  const gateway = await startBotProcess(discord, { ...shared, CAIRN_METRICS_PORT: String(gatewayPort) }, cleanups, ['--no-worker']);
  const gatewayMetrics = () => fetch(`http://127.0.0.1:${gatewayPort}/metrics`).then((r) => r.text());
  return { discord, dataDir, gateway, gatewayMetrics, workers, addWorker };
}

/** The worker running a run now (its /metrics count one in flight). */
async function busyWorker(workers: Worker[]): Promise<Worker> {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    for (const worker of workers) if (/^cairn_runs_in_flight 1$/m.test(await worker.metrics())) return worker;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('no worker is running the run');
}

describe('a gateway and workers sharing a queue', () => {
  it('a worker killed mid-run (SIGKILL): another resumes the run from its journal, which finishes once without repeating a tool call', async () => {
    const { discord, dataDir, workers, gatewayMetrics } = await deployment(3);
    openai.script(
      { kind: 'tool_calls', calls: [{ name: 'working_memory_append', arguments: { block: 'notes', text: 'pebble-5150' } }] },
      { kind: 'hang' },
      { kind: 'text', content: 'Noted the pebble.' },
    );
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'note the pebble' } });
    await i.acknowledged();
    await discord.waitFor(() => (openai.chatRequests().length > 1 ? true : undefined), 15_000);
    const runId = await discord.waitFor(() => /run `([^`]+)`/.exec(i.original()?.content ?? '')?.[1]);
    const busy = await busyWorker(workers);
    // The gateway's /metrics shows the queue: one run taken by a worker, none waiting.
    expect(await gatewayMetrics()).toMatch(/^cairn_queue_runs\{state="active"\} 1$/m);
    expect(await gatewayMetrics()).toMatch(/^cairn_queue_runs\{state="waiting"\} 0$/m);
    busy.child.kill('SIGKILL');
    await busy.exited;

    await discord.waitFor(() => i.followUps().find((m) => m.content.includes('Noted the pebble.')), 20_000);
    await discord.waitFor(() => (i.original()?.content.includes('✅ **Done**') === true ? true : undefined), 10_000);
    expect(i.original()?.content).toContain('resumed');
    expect(i.followUps().filter((m) => m.content.includes('Noted the pebble.'))).toHaveLength(1);
    expect(openai.chatRequests()).toHaveLength(3);
    const survivors = workers.filter((w) => w !== busy);
    await expect.poll(async () => (await Promise.all(survivors.map((w) => w.metrics()))).join('\n'), { timeout: 10_000 }).toContain('cairn_runs_resumed_total 1');
    for (const worker of survivors) worker.child.kill('SIGTERM');
    for (const worker of survivors) expect(await worker.exited).toBe(0);
    expect(await episodeStatus(dataDir, runId)).toBe('succeeded');
    expect((await workingText(dataDir, { userId: discord.users.alice.id, channelId: discord.channels.general })).match(/pebble-5150/g)).toHaveLength(1);
  }, 90_000);

  it('Cancel pressed on the gateway stops the run on the worker running it', async () => {
    const { discord, dataDir } = await deployment(2);
    openai.script({ kind: 'hang' });
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'a job to cancel' } });
    await discord.waitFor(() => (openai.chatRequests().length > 0 ? true : undefined), 15_000);
    const status = await discord.waitFor(() => (buttons(i.original()).some((b) => b.label === 'Cancel') ? i.original() : undefined), 10_000);
    const runId = /run `([^`]+)`/.exec(status.content)?.[1] ?? '';
    const cancel = buttons(status).find((b) => b.label === 'Cancel')?.customId ?? '';
    const press = discord.clickButton({ user: discord.users.alice, message: status, customId: cancel });
    await press.acknowledged();
    await discord.waitFor(() => (/cancel/i.test(i.original()?.content ?? '') && buttons(i.original()).length === 0 ? true : undefined), 15_000);
    await expect.poll(() => episodeStatus(dataDir, runId), { timeout: 10_000 }).toBe('stopped');
  }, 60_000);

  it('an approval request a worker posted is decided by a press on the gateway, and the run goes on', async () => {
    const { discord, dataDir } = await deployment(2, { CAIRN_APPROVAL_RISK: 'medium', CAIRN_APPROVAL_TIMEOUT_S: '120' });
    openai.script({ kind: 'tool_calls', calls: [{ name: 'write_file', arguments: { path: 'note.txt', content: 'hello' } }] }, { kind: 'text', content: 'All done.' });
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'Write a note' } });
    const request = await discord.waitFor(() => i.followUps().find((m) => m.content.startsWith('🔐')), 15_000);
    const approve = buttons(request).find((b) => b.label === 'Approve')?.customId ?? '';
    const press = discord.clickButton({ user: discord.users.alice, message: request, customId: approve });
    await press.acknowledged();
    await discord.waitFor(() => i.followUps().find((m) => m.content === 'All done.'), 15_000);
    expect(discord.message(request.id)?.content).toContain(`✅ Approved by <@${discord.users.alice.id}>.`);
    const runId = /run `([^`]+)`/.exec(i.original()?.content ?? '')?.[1] ?? '';
    await expect.poll(() => episodeStatus(dataDir, runId), { timeout: 10_000 }).toBe('succeeded');
  }, 60_000);

  it('a mention is answered by a worker, as a reply to the message, once, with every process behind one REST proxy', async () => {
    const { discord } = await deployment(2, {}, { proxy: true });
    openai.script({ kind: 'text', content: 'Answered by a worker.' });
    const asked = discord.postMessage({ user: discord.users.alice, channelId: discord.channels.general, content: 'hello there', mentionBot: true });
    const answer = await discord.waitFor(() => discord.channelMessages(discord.channels.general).find((m) => m.content.includes('Answered by a worker.')), 15_000);
    expect(answer.replyTo).toBe(asked.id);
    await new Promise((r) => setTimeout(r, 500));
    expect(discord.channelMessages(discord.channels.general).filter((m) => m.content.includes('Answered by a worker.'))).toHaveLength(1);
  }, 60_000);

  it('a per-second schedule over 10 s posts exactly one report per firing across three workers, and a pause on the gateway stops it everywhere', async () => {
    const { discord, dataDir } = await deployment(3, { CAIRN_MIN_SCHEDULE_INTERVAL_S: '1' });
    openai.respondWith(() => ({ kind: 'text', content: 'All systems operational.' }));
    const schedule = (subcommand: string, options: Record<string, string>) => privateText(discord.slash({ user: discord.users.carol, channelId: discord.channels.general, name: 'schedule', subcommand, options }), discord);
    const added = await schedule('add', { cron: '* * * * * *', goal: 'Check the status page', notify: 'always' });
    const id = /`([0-9a-z]{6})`/.exec(added)?.[1] ?? '';
    expect(id).not.toBe('');
    await new Promise((r) => setTimeout(r, 10_000));
    expect(await schedule('pause', { id })).toContain(`Paused schedule \`${id}\``);
    // A firing already under way when the pause came may still report.
    await new Promise((r) => setTimeout(r, 1_500));
    const reports = () => discord.channelMessages(discord.channels.general).filter((m) => m.content.includes('**Scheduled report**'));
    const atPause = reports().length;
    await new Promise((r) => setTimeout(r, 3_000));
    expect(reports()).toHaveLength(atPause);
    expect(atPause).toBeGreaterThanOrEqual(7);
    expect(atPause).toBeLessThanOrEqual(12);
    // One run per firing (each in a second of its own), each reported once.
    const memory = await Memory.open({ uri: dataDir, embedder: await createEmbedder('local', { timeoutMs: 1_000, maxRetries: 0 }, silentLogger()), log: silentLogger() });
    const runs = await memory.episodes.list(`trigger = 'schedule'`, 100).finally(() => memory.close());
    expect(runs).toHaveLength(atPause);
    expect(new Set(runs.map((r) => Math.floor(r.startedAt / 1000))).size).toBe(runs.length);
    const reportedRuns = reports().map((m) => /run `([^`]+)`/.exec(m.content)?.[1]);
    expect(new Set(reportedRuns).size).toBe(atPause);
  }, 90_000);

  it('a scheduled run queued by the gateway, whose worker is killed mid-run (SIGKILL), is resumed by another: one report, no tool call repeated', async () => {
    const { discord, dataDir, workers } = await deployment(3);
    const schedule = (subcommand: string, options: Record<string, string>) => privateText(discord.slash({ user: discord.users.carol, channelId: discord.channels.general, name: 'schedule', subcommand, options }), discord);
    const id = /`([0-9a-z]{6})`/.exec(await schedule('add', { cron: '0 9 * * *', goal: 'Note the pebble and report' }))?.[1] ?? '';
    openai.script(
      { kind: 'tool_calls', calls: [{ name: 'working_memory_append', arguments: { block: 'notes', text: 'pebble-7311' } }] },
      { kind: 'hang' },
      { kind: 'text', content: 'The pebble is noted.' },
    );
    expect(await schedule('run', { id })).toContain(`Running schedule \`${id}\` now`);
    await discord.waitFor(() => (openai.chatRequests().length > 1 ? true : undefined), 15_000);
    const busy = await busyWorker(workers);
    busy.child.kill('SIGKILL');
    await busy.exited;

    const reports = () => discord.channelMessages(discord.channels.general).filter((m) => m.content.includes('**Scheduled report**'));
    const report = await discord.waitFor(() => reports()[0], 20_000);
    expect(report.content).toContain('resumed after a restart');
    await discord.waitFor(() => discord.channelMessages(discord.channels.general).find((m) => m.content === 'The pebble is noted.'), 10_000);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(reports()).toHaveLength(1);
    expect(openai.chatRequests()).toHaveLength(3);
    const runId = /run `([^`]+)`$/.exec(report.content)?.[1] ?? '';
    await expect.poll(() => episodeStatus(dataDir, runId), { timeout: 10_000 }).toBe('succeeded');
    expect((await workingText(dataDir, { userId: `schedule-${id}`, channelId: discord.channels.general })).match(/pebble-7311/g)).toHaveLength(1);
  }, 90_000);

  it('a 👎 on the gateway is reflected on by a worker: none while no worker is up, the lesson once one is', async () => {
    const { discord, workers, addWorker } = await deployment(1);
    openai.respondWith((body) =>
      formatOf(body) === 'lesson'
        ? { kind: 'text', content: JSON.stringify({ wentWrong: 'Ignored the time zone.', doInstead: 'give times in the asker’s time zone', appliesWhen: 'questions about times' }) }
        : { kind: 'text', content: 'It is noon.' },
    );
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'what time is it?' } });
    const answer = await discord.waitFor(() => i.followUps().find((m) => m.content === 'It is noon.'), 15_000);
    const runId = /run `([^`]+)`/.exec(i.original()?.content ?? '')?.[1] ?? '';
    for (const worker of workers) worker.child.kill('SIGTERM');
    for (const worker of workers) expect(await worker.exited).toBe(0);

    const down = buttons(answer).find((b) => b.emoji === '👎')?.customId ?? '';
    const click = discord.clickButton({ user: discord.users.alice, message: answer, customId: down });
    // At once: the gateway reads the run the worker just wrote.
    expect((await click.acknowledged()).type).toBe(9);
    const modalId = (click.modal() as { custom_id: string }).custom_id;
    const submit = discord.submitModal({ user: discord.users.alice, channelId: discord.channels.general, customId: modalId, fields: { comment: 'It ignored the time zone.' } });
    await submit.acknowledged();
    const lessons = () => discord.channelMessages(discord.channels.general).filter((m) => m.content.startsWith('📝'));
    // The gateway queues the reflection and never asks the model itself.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(lessons()).toHaveLength(0);
    expect(openai.chatRequests().filter((body) => formatOf(body) === 'lesson')).toHaveLength(0);

    await addWorker();
    const note = await discord.waitFor(() => lessons()[0], 20_000);
    expect(note.content).toBe(`📝 **Lesson learned** from run \`${runId}\`: give times in the asker’s time zone (applies to: questions about times).`);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(lessons()).toHaveLength(1);
    expect(openai.chatRequests().filter((body) => formatOf(body) === 'lesson')).toHaveLength(1);
  }, 90_000);

  it('a queued run whose starter lost the allowed role before a worker took it does not start, and they are told why', async () => {
    const { discord, workers, addWorker } = await deployment(1, (d) => ({ CAIRN_ALLOWED_ROLES: d.roles.member }));
    for (const worker of workers) worker.child.kill('SIGTERM');
    for (const worker of workers) expect(await worker.exited).toBe(0);
    openai.respondWith(() => ({ kind: 'text', content: 'Answered.' }));
    // Queued while no worker is up: Alice had the role when she asked.
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'what time is it?' } });
    const queued = await discord.waitFor(() => (i.original()?.content.includes('Queued') === true ? i.original() : undefined), 10_000);
    // The run's id is on its Cancel button.
    const runId = /([0-9a-z]+-[0-9a-f]{6})$/.exec(buttons(queued).find((b) => b.label === 'Cancel')?.customId ?? '')?.[1] ?? '';
    expect(runId).not.toBe('');
    discord.setMemberRoles(discord.guildId, discord.users.alice.id, []);

    await addWorker();
    const told = await discord.waitFor(() => discord.channelMessages(discord.channels.general).find((m) => m.content.includes(`run \`${runId}\` could not start`)), 20_000);
    expect(told.content).toBe(`⚠️ <@${discord.users.alice.id}>, your run \`${runId}\` could not start. You are not on the list of people who may use Cairn here. Ask a server admin to add you (CAIRN_ALLOWED_USERS or CAIRN_ALLOWED_ROLES).`);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(openai.chatRequests()).toHaveLength(0);
    expect(i.followUps().some((m) => m.content === 'Answered.')).toBe(false);
  }, 90_000);
});
