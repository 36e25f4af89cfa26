/**
 * bench:discord — 50 concurrent /agent runs through the real discord.js client against the fake
 * Discord, with a fake model that takes 100 ms per call, each answer followed by a 👍 vote.
 * Everything else is real: the bot, LanceDB memory, the offline embedder.
 *
 *   npm run bench:discord -- [--json] [--runs 50] [--latency 100] [--steps 4]
 *
 * idealWallMs: one run's model time alone (steps × latency), i.e. the wall time if the bot,
 * Discord and memory cost nothing and all runs overlapped perfectly. wallMs: from the first
 * /agent to the last vote recorded. eventLoopLagP99Ms: the bot process's event-loop delay.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { DiscordBot } from '../src/discord/bot.js';
import { InteractionExemptREST } from '../src/discord/rest-budget.js';
import { percentile } from './stats.js';
import { silentLogger } from '../src/log.js';
import { startFakeDiscord, type FakeInteraction, type FakeMessage } from '../test/fakes/discord/index.js';
import { startFakeOpenAi } from '../test/fakes/openai-server.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    runs: { type: 'string', default: '50' },
    latency: { type: 'string', default: '100' },
    steps: { type: 'string', default: '4' },
    // discord.js's client-side global limit; 50/s is Discord's default budget for a bot.
    rps: { type: 'string', default: '50' },
  },
});
const runs = Number(values.runs);
const latencyMs = Number(values.latency);
const steps = Number(values.steps);

const openai = await startFakeOpenAi();
// Each run calls a tool (steps − 1) times, then answers; every call takes `latencyMs`.
openai.respondWith((body) => {
  const observations = body.messages.filter((m) => m.role === 'tool').length;
  return observations < steps - 1
    ? { kind: 'tool_calls', calls: [{ name: 'current_time', arguments: { timezone: ['UTC', 'Asia/Tokyo', 'Europe/Oslo'][observations % 3] } }], delayMs: latencyMs }
    : { kind: 'text', content: `Done after ${observations} checks.`, delayMs: latencyMs };
});
const discord = await startFakeDiscord();
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cairn-bench-discord-'));
const config = loadConfig(
  {
    DISCORD_TOKEN: discord.token,
    DISCORD_REST_URL: discord.restApi,
    DISCORD_GUILD_ID: discord.guildId,
    OPENAI_BASE_URL: openai.baseURL,
    CAIRN_DATA_DIR: dataDir,
    // The benchmark's three users start all 50 runs and press 👍 on each: lift the per-user rate
    // limits, and give each a budget that covers every run's cost limit ($1) held at once.
    CAIRN_RUNS_PER_MINUTE: String(runs),
    CAIRN_COMMANDS_PER_MINUTE: String(2 * runs),
    CAIRN_DAILY_BUDGET_USD: String(runs),
    CAIRN_LLM_MAX_RETRIES: '0',
    DISCORD_GLOBAL_REQUESTS_PER_SECOND: values.rps,
  },
  ['llm', 'discord'],
);
const app = await createApp(config, silentLogger());
const bot = await DiscordBot.start(app);
const lag = monitorEventLoopDelay({ resolution: 10 });

const users = [discord.users.alice, discord.users.bob, discord.users.carol];
const voteButton = (m: FakeMessage) =>
  (m.components as { components?: { custom_id?: string; emoji?: { name?: string } }[] }[]).flatMap((r) => r.components ?? []).find((c) => c.emoji?.name === '👍')?.custom_id;

let completed = 0;
let feedbackRecorded = 0;
/** From sending each /agent to Discord receiving its acknowledgement. */
const ackMs: number[] = [];
lag.enable();
const started = performance.now();
await Promise.all(
  Array.from({ length: runs }, async (_, n) => {
    const user = users[n % users.length] ?? discord.users.alice;
    const sentAt = Date.now();
    const i: FakeInteraction = discord.slash({ user, channelId: discord.channels.general, name: 'agent', options: { goal: `benchmark run ${n}` } });
    try {
      // Discord gives 3 s to acknowledge; the first callback (the deferral) is the acknowledgement.
      // The fake gives up on an interaction not acknowledged within Discord's 3 s: counted as over.
      const ack = await i.acknowledged().catch(() => null);
      ackMs.push(ack === null ? Number.POSITIVE_INFINITY : ack.at - sentAt);
      const answer = await discord.waitFor(() => i.followUps().find((m) => voteButton(m) !== undefined), 60_000);
      completed += 1;
      const runId = /:([a-z0-9-]+)$/.exec(voteButton(answer) ?? '')?.[1] ?? '';
      await discord.clickButton({ user, message: answer, customId: voteButton(answer) ?? '' }).acknowledged();
      for (let tries = 0; tries < 600; tries++) {
        if ((await app.memory.episodes.get(runId))?.feedback.length === 1) {
          feedbackRecorded += 1;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } catch (error) {
      console.error(`run ${n}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }),
);
const wallMs = Math.round(performance.now() - started);
const made = discord.requests.filter((r) => r.at >= Date.now() - wallMs);
const discordRequests = made.length;
// Interaction traffic (the defer, edits of the reply, follow-ups, button callbacks) is not Discord's global budget's.
const rest = bot.client.rest;
const budgetedRequests = made.filter((r) => !(rest instanceof InteractionExemptREST && rest.isInteractionRoute(r.path)));
const budgeted = budgetedRequests.length;
// Which routes spend the budget (stderr: stdout's last line is the JSON result).
const byRoute = new Map<string, number>();
for (const r of budgetedRequests) {
  const route = `${r.method} ${r.path.replace(/\d{17,20}/g, ':id')}`;
  byRoute.set(route, (byRoute.get(route) ?? 0) + 1);
}
process.stderr.write(`budgeted requests by route: ${JSON.stringify(Object.fromEntries([...byRoute].sort((a, b) => b[1] - a[1])))}\n`);
lag.disable();
await bot.stop();
await discord.close();
await openai.close();
await rm(dataDir, { recursive: true, force: true });

const report = {
  runs,
  completed,
  feedbackRecorded,
  eventLoopLagP99Ms: Math.round((lag.percentile(99) / 1e6) * 10) / 10,
  wallMs,
  idealWallMs: steps * latencyMs,
  wallOverIdeal: Math.round((wallMs / (steps * latencyMs)) * 100) / 100,
  ackP99Ms: percentile(ackMs, 0.99),
  acksOver3s: ackMs.filter((ms) => ms > 3_000).length,
  discordRequests,
  /** Requests that count against the bot's global budget, per run (votes included). */
  budgetedRequestsPerRun: Math.round((budgeted / runs) * 100) / 100,
  /** The wall time the global request budget alone imposes: budgeted requests / (requests per second). */
  discordBudgetMs: Math.round((budgeted / Number(values.rps)) * 1000),
  globalRequestsPerSecond: Number(values.rps),
  modelLatencyMs: latencyMs,
  stepsPerRun: steps,
};
if (!values.json) {
  console.log(`${completed}/${runs} runs completed, ${feedbackRecorded} votes recorded in ${wallMs} ms (ideal ${report.idealWallMs} ms, ×${report.wallOverIdeal}); event-loop lag p99 ${report.eventLoopLagP99Ms} ms`);
}
console.log(JSON.stringify(report));
