/**
 * bench:soak — issue 15, part 4: is the bot flat under a steady stream of turns? 2,000 @Cairn
 * turns from 80 people in 6 channels go through the real bot (its own process, bench/soak-bot.ts)
 * and the real discord.js client against the fake Discord, with a model that answers at once.
 * About half the turns reply to Cairn's last answer to that person (continuing a reply chain);
 * the rest are new mentions. `--concurrency` people have a turn in flight at any time.
 *
 *   npm run bench:soak -- [--json] [--turns 2000] [--concurrency 2] [--upkeep on|off] [--malloc-arenas 2|default]
 *                         [--cpu-prof <dir>]
 *
 * answerMsAt[k]: median time from sending turn k's message to Cairn's answer reaching the fake
 * Discord, over the 50 turns around k (the last 50 for the last point). rssMbAt[k]: the bot's RSS
 * when turn k is answered; heapMbAt[k]: its JS heap after a full collection then (live objects).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startFakeDiscord, type FakeUser, type RecordedRequest } from '../test/fakes/discord/index.js';
import { World } from '../test/fakes/discord/world.js';
import { startFakeOpenAi } from '../test/fakes/openai-server.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    turns: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '2' },
    people: { type: 'string', default: '80' },
    // off: no write-triggered compaction of the small tables (the behaviour before it, for A/B runs).
    upkeep: { type: 'string', default: 'on' },
    'malloc-arenas': { type: 'string', default: '2' },
    // A directory: the bot writes a V8 CPU profile there when it stops (open it in Chrome DevTools).
    'cpu-prof': { type: 'string' },
  },
  allowPositionals: true,
});
const turns = Number(values.turns);
const concurrency = Number(values.concurrency);
const peopleCount = Number(values.people);
const EXTRA_CHANNELS = 4;

/**
 * The fake's cast has four people and two channels the bot may post in. The soak needs a crowd:
 * the World is captured on its first method call and given more members and channels before the
 * bot connects (its GUILD_CREATE then lists them).
 */
function captureWorld(probe: () => void): World {
  const seen: World[] = [];
  const original = Reflect.get(World.prototype, 'messagesIn');
  Reflect.set(World.prototype, 'messagesIn', function (this: World, channelId: string) {
    seen.push(this);
    return original.call(this, channelId);
  });
  try {
    probe();
  } finally {
    Reflect.set(World.prototype, 'messagesIn', original);
  }
  const captured = seen[0];
  if (captured === undefined) throw new Error('bench:soak: could not reach the fake Discord world');
  return captured;
}

const openai = await startFakeOpenAi();
// Instant: no delay, one short answer, no tools.
openai.respondWith(() => ({ kind: 'text', content: 'Noted. Here is a short answer to your message.' }));
const discord = await startFakeDiscord();
const world = captureWorld(() => discord.channelMessages(discord.channels.general));
const guild = world.guild(discord.guildId);
if (guild === undefined) throw new Error('bench:soak: no main guild');
const people: FakeUser[] = Array.from({ length: peopleCount }, (_, n) => {
  const user = { id: world.ids.next(), username: `person${n}`, globalName: `Person ${n}`, bot: false };
  world.users.set(user.id, user);
  guild.members.set(user.id, { userId: user.id, roleIds: [discord.roles.member], joinedAt: Date.now() });
  return { id: user.id, username: user.username, globalName: user.globalName };
});
const channels = [discord.channels.general, discord.channels.noThreads];
for (let n = 0; n < EXTRA_CHANNELS; n++) {
  const id = world.ids.next();
  world.channels.set(id, { kind: 'text', id, guildId: discord.guildId, name: `soak-${n}`, position: 10 + n, topic: null, overwrites: [] });
  channels.push(id);
}

// Cairn's answers, seen as their requests arrive: the sent message's id → when. The fake records
// a request as it arrives and fills in its body once read, so records are checked until handled.
const answered = new Map<string, (at: number) => void>();
const posted: { record: RecordedRequest; at: number }[] = [];
const requests = discord.requests;
const push = requests.push.bind(requests);
requests.push = (...records) => {
  const at = performance.now();
  for (const record of records) if (record.method === 'POST' && /^\/channels\/\d+\/messages$/.test(record.path)) posted.push({ record, at });
  return push(...records);
};
const watcher = setInterval(() => {
  for (let i = posted.length - 1; i >= 0; i--) {
    const entry = posted[i];
    if (entry === undefined || entry.record.status === 0) continue;
    posted.splice(i, 1);
    const body = entry.record.body as { message_reference?: { message_id?: string }; components?: unknown } | undefined;
    const to = body?.message_reference?.message_id;
    if (to !== undefined && JSON.stringify(body?.components ?? []).includes('👍')) answered.get(to)?.(entry.at);
  }
}, 2);

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cairn-bench-soak-'));
const bot: ChildProcess = fork(path.join(import.meta.dirname, 'soak-bot.ts'), [], {
  execArgv: ['--expose-gc', '--import', 'tsx', ...(values['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`])],
  env: {
    ...process.env,
    DISCORD_TOKEN: discord.token,
    DISCORD_REST_URL: discord.restApi,
    DISCORD_GUILD_ID: discord.guildId,
    OPENAI_BASE_URL: openai.baseURL,
    OPENAI_API_KEY: 'soak',
    CAIRN_DATA_DIR: dataDir,
    CAIRN_LLM_MAX_RETRIES: '0',
    // 80 people sending 2,000 messages in a few minutes: lift the per-user limits.
    CAIRN_RUNS_PER_MINUTE: '1000',
    CAIRN_COMMANDS_PER_MINUTE: '1000',
    CAIRN_DAILY_BUDGET_USD: '1000',
    LOG_LEVEL: 'silent',
    SOAK_TABLE_UPKEEP: values.upkeep,
    // As the Docker image runs the bot (see Dockerfile); `--malloc-arenas default` leaves glibc's
    // default (8 per core), under which the same run's RSS kept creeping up.
    ...(values['malloc-arenas'] === 'default' ? {} : { MALLOC_ARENA_MAX: values['malloc-arenas'] }),
  },
});
const replies: { type: string; rssMb?: number; heapMb?: number; externalMb?: number; cacheMb?: number; cacheItems?: number; fragments?: Record<string, number> }[] = [];
const waiters: (() => void)[] = [];
bot.on('message', (m: (typeof replies)[number]) => {
  replies.push(m);
  waiters.shift()?.();
});
const nextReply = () => new Promise<void>((resolve) => waiters.push(resolve));
let stopping = false;
// A bot that dies mid-soak ends the soak at once, with its exit code, instead of 60 s per turn left.
bot.once('exit', (code) => {
  if (stopping) return;
  console.error(`bench:soak: the bot exited (code ${String(code)}) after ${completed} turns`);
  void rm(dataDir, { recursive: true, force: true }).finally(() => process.exit(1));
});
await nextReply();

// A small seeded generator, so every run sends the same turns.
let seed = 15;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
};
const THINGS = ['project', 'garden', 'trip', 'deadline', 'recipe', 'budget', 'team', 'book'];

const lastAnswer = new Map<string, { channelId: string; messageId: string }>();
const answerMs: number[] = [];
const checkpoints = [...new Set([50, 100, 250, 500, 750, 1000, 1250, 1500, 1750, 2000, turns].filter((k) => k <= turns))];
const memoryAt = new Map<number, { rssMb: number; heapMb: number; externalMb: number; fragments: Record<string, number> }>();
let sampling: Promise<void> = Promise.resolve();
let completed = 0;
let failed = 0;

/** The bot's memory now (one sample at a time). */
function sample(at: number): void {
  sampling = sampling.then(async () => {
    const reply = nextReply();
    bot.send({ type: 'sample' });
    await reply;
    const m = replies.at(-1);
    memoryAt.set(at, { rssMb: m?.rssMb ?? 0, heapMb: m?.heapMb ?? 0, externalMb: m?.externalMb ?? 0, fragments: m?.fragments ?? {} });
    // Progress on stderr, so a long soak can be watched (stdout keeps its one JSON line).
    const recent = answerMs.slice(Math.max(0, at - 50), at).filter(Number.isFinite).sort((x, y) => x - y);
    console.error(`turn ${at}: RSS ${m?.rssMb ?? '?'} MB, heap ${m?.heapMb ?? '?'} MB, LanceDB caches ${m?.cacheMb ?? '?'} MB in ${m?.cacheItems ?? '?'} items, fragments ${JSON.stringify(m?.fragments ?? {})}, answer ${Math.round(recent[Math.floor(recent.length / 2)] ?? 0)} ms (median of the last 50)`);
  });
}

/** One turn: a new mention, or a reply to Cairn's last answer to this person; resolves with the answer time. */
async function turn(n: number): Promise<void> {
  const person = people[n % people.length] ?? people[0];
  if (person === undefined) return;
  const previous = lastAnswer.get(person.id);
  const content = `Turn ${n}: my ${THINGS[n % THINGS.length] ?? 'plan'} needs ${Math.floor(random() * 1_000)} units; what should I do next?`;
  const replying = previous !== undefined && random() < 0.5;
  const channelId = replying ? previous.channelId : (channels[Math.floor(random() * channels.length)] ?? discord.channels.general);
  const started = performance.now();
  let resolveLater: (at: number) => void = () => undefined;
  const arrived = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`turn ${n}: no answer in 60 s`));
    }, 60_000);
    resolveLater = (at: number) => {
      clearTimeout(timer);
      resolve(at);
    };
  });
  const sent = discord.postMessage({ user: person, channelId, content, mentionBot: true, ...(replying ? { replyTo: previous.messageId } : {}) });
  answered.set(sent.id, resolveLater);
  try {
    const at = await arrived;
    answerMs[n] = at - started;
    // The answer's id, for the next reply: the fake has created it once the request is handled.
    const answer = await discord.waitFor(() => {
      const messages = discord.channelMessages(channelId);
      for (let i = messages.length - 1; i >= 0; i--) {
        const m = messages[i];
        if (m?.authorId === discord.botUserId && m.replyTo === sent.id) return m;
      }
      return undefined;
    }, 60_000);
    lastAnswer.set(person.id, { channelId, messageId: answer.id });
  } catch (error) {
    failed += 1;
    console.error(error instanceof Error ? error.message : String(error));
  } finally {
    answered.delete(sent.id);
    completed += 1;
    if (checkpoints.includes(completed)) sample(completed);
  }
}

let next = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < turns) {
      const n = next++;
      await turn(n);
    }
  }),
);
await sampling;
const wallMs = Math.round(performance.now() - started);
const fragmentsByTable: Record<string, number> = {};
for (const name of await readdir(dataDir).catch(() => [])) {
  if (!name.endsWith('.lance')) continue;
  fragmentsByTable[name.replace(/\.lance$/, '')] = (await readdir(path.join(dataDir, name, '_versions')).catch(() => [])).length;
}
stopping = true;
const exited = new Promise((resolve) => bot.once('exit', resolve));
bot.send({ type: 'stop' });
await exited;
clearInterval(watcher);
await discord.close();
await openai.close();
await rm(dataDir, { recursive: true, force: true });

const median = (xs: number[]) => {
  const sorted = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0);
};
/** The 50 turns around turn k (1-based), or the last 50 for the last turn. */
const windowAround = (k: number) => {
  const start = k === turns ? turns - 50 : Math.max(0, k - 25);
  return answerMs.slice(start, Math.min(turns, start + 50));
};
const pick = <T>(f: (k: number) => T) => Object.fromEntries(checkpoints.map((k) => [String(k), f(k)]));
const report = {
  turns,
  people: peopleCount,
  channels: channels.length,
  concurrency,
  tableUpkeep: values.upkeep,
  mallocArenas: values['malloc-arenas'],
  failed,
  rssMbAt: pick((k) => memoryAt.get(k)?.rssMb ?? null),
  answerMsAt: pick((k) => median(windowAround(k))),
  heapMbAt: pick((k) => memoryAt.get(k)?.heapMb ?? null),
  externalMbAt: pick((k) => memoryAt.get(k)?.externalMb ?? null),
  /** Fragments of the busiest tables when turn k was answered. */
  fragmentsAt: pick((k) => {
    const f = memoryAt.get(k)?.fragments ?? {};
    return { memories: f.memories ?? null, episodes: f.episodes ?? null, conversation_turns: f.conversation_turns ?? null, spend: f.spend ?? null };
  }),
  /** Versions (manifests) left on disk per table at the end. */
  versionsAtEnd: fragmentsByTable,
  wallMs,
};
if (!values.json) {
  for (const k of checkpoints) console.log(`turn ${k}: answer ${report.answerMsAt[String(k)]} ms (median of 50), RSS ${report.rssMbAt[String(k)]} MB, heap ${report.heapMbAt[String(k)]} MB`);
}
console.log(JSON.stringify(report));
