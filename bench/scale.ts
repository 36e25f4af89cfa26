/**
 * bench:scale — 200 /agent runs arriving at once through a gateway process and the fake Discord,
 * over 1, 2 and 4 worker processes (`cairn worker`, each running at most 10 runs at once) that
 * share a real redis-server, one data directory and one REST proxy (`cairn rest-proxy`). The fake
 * model takes 500 ms a call, 4 calls a run. Everything but Discord and the model is real.
 *
 *   npm run bench:scale -- [--json] [--runs 200] [--workers 1,2,4] [--latency 500] [--steps 4] [--concurrency 10]
 *
 * throughputRunsPerMin: answers posted per minute, from the first /agent to the last answer.
 * p95TimeToAnswerMs: from a run's /agent to its answer. ackP99Ms / acksOver3s: from each /agent to
 * its acknowledgement, over every configuration. duplicateRuns: runs answered more than once;
 * lostRuns: runs never answered (within 10 minutes). cpuMsPerRun: CPU time per run answered, by
 * role (every worker summed; each process's start-up included) and of this process (the fakes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startFakeDiscord, type FakeDiscord, type FakeInteraction, type FakeMessage } from '../test/fakes/discord/index.js';
import { startFakeOpenAi } from '../test/fakes/openai-server.js';
import { cairnEnv } from '../test/support/cairn-env.js';
import { freePort } from '../test/support/free-port.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { percentile } from './stats.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    runs: { type: 'string', default: '200' },
    workers: { type: 'string', default: '1,2,4' },
    latency: { type: 'string', default: '500' },
    steps: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '10' },
  },
});
const runs = Number(values.runs);
const workerCounts = values.workers.split(',').map(Number);
const latencyMs = Number(values.latency);
const steps = Number(values.steps);
const BIN = fileURLToPath(new URL('../src/bin/cairn.js', import.meta.url));
const ANSWER_TIMEOUT_MS = 10 * 60_000;
// A different question each step: the same call three times in a row stops a run (loop guard).
const TIME_ZONES = ['UTC', 'Asia/Tokyo', 'Europe/Oslo', 'America/Lima'];


interface Started {
  role: 'restProxy' | 'worker' | 'gateway';
  child: ChildProcess;
  exited: Promise<void>;
  stderr: () => string;
}

function start(role: Started['role'], args: string[], env: Record<string, string>): Started {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => {
    child.on('exit', () => {
      resolve();
    });
  });
  return { role, child, exited, stderr: () => stderr };
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const reachable = (url: string) => fetch(url).then((r) => r.ok, () => false);

/** CPU seconds a process has used so far (user + system, all its threads), from /proc; null where there is no /proc. */
async function cpuSeconds(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields === undefined) return null;
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
/** Linux's USER_HZ: /proc times are in these ticks. */
const CLOCK_TICKS = 100;

interface Measured {
  throughputRunsPerMin: number;
  /** CPU time per run answered, by role (all workers summed), and of this process (the fake Discord and model). */
  cpuMsPerRun: Record<string, number | null>;
  p95TimeToAnswerMs: number;
  ackMs: number[];
  duplicateRuns: number;
  lostRuns: number;
}

async function measure(workers: number): Promise<Measured> {
  const redis = await startRedisServer();
  const openai = await startFakeOpenAi();
  openai.respondWith((body) => {
    const observations = body.messages.filter((m) => m.role === 'tool').length;
    return observations < steps - 1
      ? { kind: 'tool_calls', calls: [{ name: 'current_time', arguments: { timezone: TIME_ZONES[observations % TIME_ZONES.length] } }], delayMs: latencyMs }
      : { kind: 'text', content: `Done after ${observations} checks.`, delayMs: latencyMs };
  });
  const discord: FakeDiscord = await startFakeDiscord();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cairn-bench-scale-'));
  const processes: Started[] = [];
  try {
    const base = {
      ...cairnEnv(discord, dataDir, openai.baseURL),
      CAIRN_REDIS_URL: redis.url,
      CAIRN_MAX_CONCURRENT_RUNS: values.concurrency,
      // Three users start every run: lift their per-minute limits and cover every run's cost cap.
      CAIRN_RUNS_PER_MINUTE: String(runs),
      CAIRN_COMMANDS_PER_MINUTE: String(2 * runs),
      CAIRN_DAILY_BUDGET_USD: String(runs),
      CAIRN_LLM_MAX_RETRIES: '0',
      LOG_LEVEL: 'error',
    };
    const proxyPort = await freePort();
    processes.push(start('restProxy', ['rest-proxy'], { ...base, CAIRN_REST_PROXY_PORT: String(proxyPort) }));
    await until(() => reachable(`http://127.0.0.1:${proxyPort}/api/v10/gateway`), 'the REST proxy');
    const env = { ...base, DISCORD_REST_URL: `http://127.0.0.1:${proxyPort}/api` };
    const ports = await Promise.all(Array.from({ length: workers }, () => freePort()));
    for (const port of ports) processes.push(start('worker', ['worker'], { ...env, CAIRN_METRICS_PORT: String(port) }));
    await Promise.all(ports.map((port) => until(() => reachable(`http://127.0.0.1:${port}/readyz`), 'a worker')));
    const registered = discord.requests.filter((r) => r.method === 'PUT').length;
    processes.push(start('gateway', ['bot', '--no-worker'], env));
    await until(() => Promise.resolve(discord.requests.filter((r) => r.method === 'PUT').length > registered), 'the gateway');

    const users = [discord.users.alice, discord.users.bob, discord.users.carol];
    const ackMs: number[] = [];
    const answerMs: number[] = [];
    const interactions: FakeInteraction[] = [];
    // The answer: the follow-up carrying the run's 👍 button.
    const isAnswer = (m: FakeMessage) => (m.components as { components?: { emoji?: { name?: string } }[] }[]).some((row) => (row.components ?? []).some((c) => c.emoji?.name === '👍'));
    const cpuBefore = process.cpuUsage();
    const began = Date.now();
    let lastAnswerAt = began;
    await Promise.all(
      Array.from({ length: runs }, async (_, n) => {
        const sentAt = Date.now();
        const i = discord.slash({ user: users[n % users.length] ?? discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: `benchmark run ${n}` } });
        interactions.push(i);
        const ack = await i.acknowledged().catch(() => null);
        ackMs.push(ack === null ? Number.POSITIVE_INFINITY : ack.at - sentAt);
        const answered = await discord.waitFor(() => i.followUps().find(isAnswer), ANSWER_TIMEOUT_MS).catch(() => null);
        if (answered === null) return;
        const at = Date.now();
        answerMs.push(at - sentAt);
        lastAnswerAt = Math.max(lastAnswerAt, at);
        if (answerMs.length % 50 === 0) process.stderr.write(`${workers} worker(s): ${answerMs.length}/${runs} answered\n`);
      }),
    );
    // A duplicate would be posted after the first: give stragglers a moment.
    await new Promise((r) => setTimeout(r, 2_000));
    const answersPer = interactions.map((i) => i.followUps().filter(isAnswer).length);
    const minutes = (lastAnswerAt - began) / 60_000;
    // Whole-life CPU of each process (their start-up included), per run answered.
    const cpuMsPerRun: Record<string, number | null> = {};
    for (const p of processes) {
      const seconds = await cpuSeconds(p.child.pid);
      const sofar = cpuMsPerRun[p.role];
      cpuMsPerRun[p.role] = seconds === null || sofar === null ? null : (sofar ?? 0) + seconds;
    }
    const own = process.cpuUsage(cpuBefore);
    cpuMsPerRun.fakes = (own.user + own.system) / 1e6;
    for (const [role, seconds] of Object.entries(cpuMsPerRun)) cpuMsPerRun[role] = seconds === null || answerMs.length === 0 ? null : Math.round((seconds * 1_000) / answerMs.length);
    return {
      cpuMsPerRun,
      throughputRunsPerMin: Math.round(answerMs.length / minutes),
      p95TimeToAnswerMs: percentile(answerMs, 0.95),
      ackMs,
      duplicateRuns: answersPer.filter((count) => count > 1).length,
      lostRuns: answersPer.filter((count) => count === 0).length,
    };
  } finally {
    for (const p of processes.reverse()) p.child.kill('SIGTERM');
    await Promise.all(processes.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 12_000))])));
    for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await discord.close();
    await openai.close();
    await redis.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const results = new Map<number, Measured>();
for (const workers of workerCounts) {
  const measured = await measure(workers);
  results.set(workers, measured);
  if (!values.json) {
    console.log(`${workers} worker(s): ${measured.throughputRunsPerMin} runs/min, p95 ${measured.p95TimeToAnswerMs} ms, ${measured.duplicateRuns} duplicate, ${measured.lostRuns} lost`);
  }
}
const allAcks = [...results.values()].flatMap((m) => m.ackMs);
const byWorkers = <T>(pick: (m: Measured) => T) => Object.fromEntries([...results].map(([w, m]) => [String(w), pick(m)]));
const one = results.get(workerCounts[0] ?? 1)?.throughputRunsPerMin ?? 0;
const most = results.get(workerCounts[workerCounts.length - 1] ?? 1)?.throughputRunsPerMin ?? 0;
console.log(
  JSON.stringify({
    runs,
    workers: workerCounts,
    throughputRunsPerMin: byWorkers((m) => m.throughputRunsPerMin),
    p95TimeToAnswerMs: byWorkers((m) => m.p95TimeToAnswerMs),
    ackP99Ms: percentile(allAcks, 0.99),
    acksOver3s: allAcks.filter((ms) => ms > 3_000).length,
    duplicateRuns: [...results.values()].reduce((sum, m) => sum + m.duplicateRuns, 0),
    lostRuns: [...results.values()].reduce((sum, m) => sum + m.lostRuns, 0),
    scaling: one === 0 ? 0 : Math.round((most / one) * 100) / 100,
    concurrencyPerWorker: Number(values.concurrency),
    modelLatencyMs: latencyMs,
    stepsPerRun: steps,
    cpuMsPerRun: byWorkers((m) => m.cpuMsPerRun),
    cores: os.cpus().length,
  }),
);
