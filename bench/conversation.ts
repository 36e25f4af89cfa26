/**
 * bench:conversation — issue 13: do follow-ups get answered with the earlier turns in the prompt?
 * Scripted multi-turn conversations through the whole app and the real discord.js client against
 * the fake Discord (CAIRN_THREADS=on, CAIRN_MESSAGE_CONTENT=on): /agent runs' threads followed up
 * by three people, a thread opened for a mention, a reply chain from a mention, replies to an
 * /agent answer, a DM; several of 20+ turns, one of 44.
 *
 *   npm run bench:conversation -- [--json] [--window 8192]
 *
 * The model is scripted: "Note: my <thing> is <value>." is answered "Noted" with ~1,200
 * characters of filler (long answers, so that a conversation outgrows its share of the window);
 * "Quiz: what did <Name|I> say about <thing>?" is answered with the value only when a note of that
 * person about that thing is among the earlier turns of its prompt (the messages between the
 * system prompt and the goal — never recalled memory), attributed to them: "[Bob · another
 * person] …", "- Bob · another person: …" in the digest of condensed turns, or the user's own.
 *
 * followUpsAnsweredInContext: share (%) of quizzes answered with the right value.
 * promptTokensAtTurn20: the prompt (messages and tool schemas, o200k tokens) of the run that has
 * 20 earlier turns in the longest conversation. windowTokens: CAIRN_CONTEXT_TOKENS.
 * maxPromptTokens, overWindow: the largest prompt of any request, and how many were over the window.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Tiktoken } from 'js-tiktoken/lite';
import o200k from 'js-tiktoken/ranks/o200k_base';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { DiscordBot } from '../src/discord/bot.js';
import { silentLogger } from '../src/log.js';
import { startFakeDiscord, type FakeDiscord, type FakeMessage, type FakeUser } from '../test/fakes/discord/index.js';
import { startFakeOpenAi, type ChatCompletionRequestBody } from '../test/fakes/openai-server.js';

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, window: { type: 'string', default: '8192' } } });
const windowTokens = Number(values.window);
const tokenizer = new Tiktoken(o200k);
const promptTokens = (body: ChatCompletionRequestBody) => tokenizer.encode(JSON.stringify(body.messages)).length + tokenizer.encode(JSON.stringify(body.tools ?? [])).length;

type Who = 'alice' | 'bob' | 'carol';
type Kind = 'agent-thread' | 'mention-thread' | 'reply-chain' | 'agent-reply' | 'dm';
interface Step {
  who: Who;
  text: string;
  /** For a quiz: the value a right answer names. */
  expect?: string;
}
interface Script {
  name: string;
  kind: Kind;
  steps: Step[];
}

const NAMES: Record<Who, string> = { alice: 'Alice', bob: 'Bob', carol: 'Carol' };
const THINGS = ['project', 'city', 'pet', 'drink', 'team', 'tool'];
const VALUES = ['heron', 'falcon', 'osprey', 'kestrel', 'plover', 'curlew', 'tern', 'gannet', 'merlin', 'dunlin', 'avocet', 'godwit'];
const FILLER = 'Here is some more context that makes the answer long. '.repeat(22);

/**
 * `exchanges` messages by `speakers` in turn: everyone states their notes first (the same things,
 * different values, so only attribution tells them apart), then quizzes about the earliest notes
 * alternate with more notes. Every message is tagged so it is unique.
 */
function script(name: string, kind: Kind, speakers: Who[], exchanges: number, seed: number): Script {
  const notes: { who: Who; thing: string; value: string }[] = [];
  const steps: Step[] = [];
  const tag = (n: number) => ` [${name} #${n + 1}]`;
  let v = seed;
  for (let n = 0; n < exchanges; n++) {
    const who = speakers[n % speakers.length] ?? 'alice';
    const stating = n < speakers.length * 2 || (n % 3 === 2 && n < exchanges - 4);
    if (stating || notes.length === 0) {
      const thing = THINGS[Math.floor(notes.filter((x) => x.who === who).length) % THINGS.length] ?? 'project';
      const value = VALUES[v++ % VALUES.length] ?? 'heron';
      notes.push({ who, thing, value });
      steps.push({ who, text: `Note: my ${thing} is ${value}.${tag(n)}` });
    } else {
      // Mostly the earliest notes: by turn 20 they are the oldest, condensed ones.
      const note = notes[(n * 7) % Math.min(notes.length, speakers.length * 2)] ?? notes[0];
      if (note === undefined) continue;
      const subject = note.who === who ? 'I' : NAMES[note.who];
      steps.push({ who, text: `Quiz: what did ${subject} say about ${note.thing}?${tag(n)}`, expect: note.value });
    }
  }
  return { name, kind, steps };
}

const SCRIPTS: Script[] = [
  script('c1', 'agent-thread', ['alice', 'bob', 'carol'], 13, 0),
  script('c2', 'mention-thread', ['bob', 'carol', 'alice'], 12, 3),
  script('c3', 'reply-chain', ['alice'], 11, 5),
  script('c4', 'agent-reply', ['carol', 'bob'], 11, 7),
  script('c5', 'dm', ['bob'], 11, 2),
  script('c6', 'agent-thread', ['carol', 'alice', 'bob'], 22, 9),
];

/** The notes among a prompt's earlier turns, attributed: [author name or "the user", thing, value]. */
function notesIn(body: ChatCompletionRequestBody): { author: string; thing: string; value: string }[] {
  const earlier = body.messages.slice(1, -1).filter((m) => m.role === 'user');
  const found: { author: string; thing: string; value: string }[] = [];
  const patterns = [
    /^\[(?<name>[^\]·]+?) · (?<role>the user|another person)\] Note: my (?<thing>\w+) is (?<value>\w+)\./,
    /^- (?<name>[^:·]+?) · (?<role>the user|another person): Note: my (?<thing>\w+) is (?<value>\w+)\./,
    /^(?:- the user: )?Note: my (?<thing>\w+) is (?<value>\w+)\./,
  ];
  for (const message of earlier) {
    const text = typeof message.content === 'string' ? message.content : '';
    for (const line of text.split('\n')) {
      for (const pattern of patterns) {
        const g = pattern.exec(line.trim())?.groups;
        if (g?.thing === undefined || g.value === undefined) continue;
        found.push({ author: g.role === 'the user' || g.name === undefined ? 'the user' : g.name, thing: g.thing, value: g.value });
        break;
      }
    }
  }
  return found;
}

function brain(body: ChatCompletionRequestBody): string {
  const goal = body.messages.at(-1);
  const text = typeof goal?.content === 'string' ? goal.content : '';
  const note = /^Note: my (\w+) is (\w+)\./.exec(text);
  if (note !== null) return `Noted: ${note[1] ?? ''} is ${note[2] ?? ''}. ${FILLER}`;
  const quiz = /^Quiz: what did (\w+) say about (\w+)\?/.exec(text);
  if (quiz === null) return 'I am not sure what you mean.';
  const [, subject = '', thing = ''] = quiz;
  const author = subject === 'I' ? 'the user' : subject;
  const known = notesIn(body).filter((n) => n.author === author && n.thing === thing).at(-1);
  return known === undefined ? `I do not know what ${subject} said about ${thing}. ${FILLER}` : `${subject} said their ${thing} is ${known.value}. ${FILLER}`;
}

const openai = await startFakeOpenAi();
openai.respondWith((body) => ({ kind: 'text', content: brain(body) }));
const discord = await startFakeDiscord({ privilegedIntents: ['MessageContent'] });
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cairn-bench-conversation-'));
const config = loadConfig(
  {
    DISCORD_TOKEN: discord.token,
    DISCORD_REST_URL: discord.restApi,
    DISCORD_GUILD_ID: discord.guildId,
    OPENAI_BASE_URL: openai.baseURL,
    CAIRN_DATA_DIR: dataDir,
    CAIRN_CONTEXT_TOKENS: String(windowTokens),
    CAIRN_THREADS: 'on',
    CAIRN_MESSAGE_CONTENT: 'on',
    CAIRN_LLM_MAX_RETRIES: '0',
    // Three people send every message of six conversations: lift the per-user limits.
    CAIRN_RUNS_PER_MINUTE: '1000',
    CAIRN_COMMANDS_PER_MINUTE: '1000',
    CAIRN_DAILY_BUDGET_USD: '1000',
  },
  ['llm', 'discord'],
);
const app = await createApp(config, silentLogger());
const bot = await DiscordBot.start(app);

const hasVote = (m: FakeMessage) => JSON.stringify(m.components).includes('👍');
const cairnReplyTo = (d: FakeDiscord, channelId: string, id: string) => d.waitFor(() => d.channelMessages(channelId).find((m) => m.authorId === d.botUserId && m.replyTo === id && hasVote(m)), 60_000);

interface Outcome {
  quizzes: number;
  right: number;
  wrong: string[];
}

/** Plays one script: each message waits for Cairn's answer before the next. */
async function play(s: Script): Promise<Outcome> {
  const user = (who: Who): FakeUser => discord.users[who];
  const outcome: Outcome = { quizzes: 0, right: 0, wrong: [] };
  let where = { channelId: '', lastAnswer: '' };
  for (const [n, step] of s.steps.entries()) {
    let answer: FakeMessage;
    if (n === 0 && (s.kind === 'agent-thread' || s.kind === 'agent-reply')) {
      const channelId = s.kind === 'agent-thread' ? discord.channels.general : discord.channels.noThreads;
      const i = discord.slash({ user: user(step.who), channelId, name: 'agent', options: { goal: step.text } });
      answer = await discord.waitFor(() => i.followUps().find(hasVote), 60_000);
      const thread = s.kind === 'agent-thread' ? await discord.waitFor(() => discord.threads().find((t) => t.starterMessageId === i.original()?.id), 60_000) : null;
      where = { channelId: thread?.id ?? channelId, lastAnswer: answer.id };
    } else if (n === 0 && s.kind === 'mention-thread') {
      const asked = discord.postMessage({ user: user(step.who), channelId: discord.channels.general, content: step.text, mentionBot: true });
      const thread = await discord.waitFor(() => discord.threads().find((t) => t.starterMessageId === asked.id), 60_000);
      answer = await discord.waitFor(() => discord.channelMessages(thread.id).find((m) => m.authorId === discord.botUserId && hasVote(m)), 60_000);
      where = { channelId: thread.id, lastAnswer: answer.id };
    } else if (s.kind === 'dm') {
      const sent = discord.dm({ user: user(step.who), content: step.text });
      answer = await cairnReplyTo(discord, sent.channelId, sent.id);
    } else if (n === 0) {
      // A reply chain starts with a mention where no thread can be opened.
      const asked = discord.postMessage({ user: user(step.who), channelId: discord.channels.noThreads, content: step.text, mentionBot: true });
      answer = await cairnReplyTo(discord, discord.channels.noThreads, asked.id);
      where = { channelId: discord.channels.noThreads, lastAnswer: answer.id };
    } else {
      // In threads: a mention every third message, the others plain (the Message Content intent);
      // in channels: a reply to Cairn's last answer.
      const inThread = s.kind === 'agent-thread' || s.kind === 'mention-thread';
      const sent = inThread
        ? discord.postMessage({ user: user(step.who), channelId: where.channelId, content: step.text, mentionBot: n % 3 === 0 })
        : discord.postMessage({ user: user(step.who), channelId: where.channelId, content: step.text, replyTo: where.lastAnswer });
      answer = await cairnReplyTo(discord, where.channelId, sent.id);
      where.lastAnswer = answer.id;
    }
    if (step.expect !== undefined) {
      outcome.quizzes += 1;
      if (answer.content.includes(` is ${step.expect}.`)) outcome.right += 1;
      else outcome.wrong.push(`${step.text} → ${answer.content.slice(0, 80)}`);
    }
  }
  return outcome;
}

const started = performance.now();
const outcomes = await Promise.all(SCRIPTS.map((s) => play(s)));
const wallMs = Math.round(performance.now() - started);
const requests = openai.chatRequests();
const sizes = requests.map(promptTokens);
// The run of the longest conversation whose prompt carries 20 earlier turns: its 11th message.
const longest = [...SCRIPTS].sort((a, b) => b.steps.length - a.steps.length)[0];
const at20 = longest?.steps[10]?.text;
const turn20 = requests.find((b) => b.messages.at(-1)?.content === at20);
await bot.stop();
await discord.close();
await openai.close();
await rm(dataDir, { recursive: true, force: true });

const quizzes = outcomes.reduce((sum, o) => sum + o.quizzes, 0);
const right = outcomes.reduce((sum, o) => sum + o.right, 0);
const report = {
  conversations: SCRIPTS.length,
  followUpsAnsweredInContext: quizzes === 0 ? 0 : Math.round((right / quizzes) * 1000) / 10,
  promptTokensAtTurn20: turn20 === undefined ? null : promptTokens(turn20),
  windowTokens,
  followUps: quizzes,
  turns: SCRIPTS.reduce((sum, s) => sum + 2 * s.steps.length, 0),
  longestTurns: 2 * (longest?.steps.length ?? 0),
  maxPromptTokens: Math.max(...sizes),
  overWindow: sizes.filter((t) => t > windowTokens).length,
  requests: requests.length,
  wallMs,
};
if (!values.json) {
  for (const o of outcomes) for (const w of o.wrong) console.log(`wrong: ${w}`);
  console.log(`${SCRIPTS.length} conversations, ${report.turns} turns: ${right}/${quizzes} follow-ups answered in context; prompt at turn 20 ${report.promptTokensAtTurn20} tokens, largest ${report.maxPromptTokens} of a ${windowTokens}-token window (${report.overWindow} over) in ${wallMs} ms`);
}
console.log(JSON.stringify(report));
