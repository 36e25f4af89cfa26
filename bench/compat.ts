/**
 * bench:compat — issue 12: does Cairn work against the servers people run it on? Each profile of
 * test/fakes/model-profiles.ts (OpenAI, Ollama, vLLM, llama.cpp, LM Studio, OpenRouter, as
 * ../shared/notes/model-servers.md records them) answers a fixed set of scripted tasks through the
 * whole app as createApp builds it (openai SDK → ToolCallingModel (auto) → FitWindowModel with the
 * window discovered from the server), with its own temporary data directory.
 *
 *   npm run bench:compat -- [--json]
 *
 * Tasks: a tool round trip (current_time) and a long file read (a 60,000-character file whose first
 * 18,000 characters are read, following the "continue at offset" hints of read_file and of the
 * window fitter when it cuts a result: three reads where the window allows, more where it does not)
 * in react, plan and reflexion mode; a two-task plan (the clock, then a notes file); a 👎 that a
 * reflection turns into a lesson. The model is scripted ("brains" below), the server is the fake.
 *
 * succeeded: the run succeeded with the expected answer (the reflection: a lesson was saved).
 * leakedReasoning: runs where the model's thoughts (THOUGHT_MARK, <think>) reached the answer, a
 * memory or lesson saved from the run, or an assistant message sent back to the server.
 * rawToolMarkup: runs whose answer or memories hold tool-call markup or a JSON action object.
 * overWindow: requests larger than the profile's window (refused, or silently truncated by Ollama).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { AgentMode } from '../src/agent/events.js';
import { createApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { recordVote } from '../src/feedback/votes.js';
import { silentLogger } from '../src/log.js';
import { sqlString } from '../src/memory/schema.js';
import { PROFILES, THOUGHT_MARK, profileHandler, type Brain, type ServerProfile } from '../test/fakes/model-profiles.js';
import { CLOCK_ANSWER, FILE_ANSWER, FILE_CHARS, LESSON, clockBrain, fileBrain, lastObservation, structuredIntent } from '../test/fakes/profile-brains.js';
import { fakePromptTokens, startFakeOpenAi, type ChatCompletionRequestBody, type FakeOpenAi } from '../test/fakes/openai-server.js';
import { bigFile } from '../test/fakes/openai-window.js';

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false } } });

const scope = { userId: 'u-bench', userName: 'Bench', channelId: 'c-bench', guildId: 'g-bench' };
const NOTES = 'Deploy window: 14:00 on Friday.';
const PLAN_ANSWER = 'It is noon in Oslo, and the deploy window is at 14:00 on Friday.';

const THOUGHTS = [THOUGHT_MARK, '<think>', '</think>'];
const MARKUP: RegExp[] = [/<tool_call>/, /\[TOOL_REQUEST\]/, /\[TOOL_CALLS\]/, /<\|python_tag\|>/, /\{\s*"action"\s*:/, /\{\s*"(?:name|tool)"\s*:\s*"[\w.-]+"\s*,\s*"(?:arguments|parameters)"\s*:/];
const hasThought = (text: string) => THOUGHTS.some((t) => text.includes(t));
const hasMarkup = (text: string) => MARKUP.some((re) => re.test(text));

/** A two-task plan: the clock, then the notes; the synthesis needs both results. */
function planBrain(): Brain {
  const state = { checks: 0, plans: 0 };
  return (view) => {
    const asked = structuredIntent(view, state, (n) => ({
      tasks: [
        { id: `c${n}`, title: 'Check the clock', detail: 'Read the time in Oslo with current_time.', dependsOn: [] },
        { id: `n${n}`, title: 'Read the notes', detail: 'Read notes.txt with read_file.', dependsOn: [`c${n}`] },
      ],
    }));
    if (asked !== null) return asked;
    const all = JSON.stringify(view.body.messages);
    if (view.tools === 'none') return { kind: 'answer', text: all.includes('noon') && all.includes('14:00') ? PLAN_ANSWER : 'Part of the plan is missing.' };
    const task = /Your task now \([^)]*\): ([^\n"\\]+)/.exec(all)?.[1] ?? '';
    const seen = lastObservation(view.body);
    if (task.startsWith('Read the notes')) {
      if (seen?.tool === 'read_file') return { kind: 'answer', text: seen.text.includes('14:00') ? 'The notes say the deploy window is at 14:00 on Friday.' : 'The notes are unreadable.' };
      return { kind: 'call', tool: 'read_file', arguments: { path: 'notes.txt' } };
    }
    if (seen?.tool === 'current_time') return { kind: 'answer', text: 'It is noon in Oslo.' };
    return { kind: 'call', tool: 'current_time', arguments: { timezone: 'Europe/Oslo' } };
  };
}

interface Counts {
  runs: number;
  succeeded: number;
  leakedReasoning: number;
  rawToolMarkup: number;
  overWindow: number;
}
const zero = (): Counts => ({ runs: 0, succeeded: 0, leakedReasoning: 0, rawToolMarkup: 0, overWindow: 0 });

interface Outcome {
  ok: boolean;
  /** Texts Cairn produced from the run: the answer, memories and lessons saved from it. */
  produced: string[];
  why: string;
}

interface Task {
  name: string;
  brain: (seen: Seen) => Brain;
  run: (app: App, workspaceDir: string) => Promise<Outcome>;
}

async function savedFrom(app: App, runId: string): Promise<string[]> {
  await app.memory.settled();
  return (await app.memory.semantic.list(`source_run_id = ${sqlString(runId)}`, 1_000)).map((m) => m.text);
}

function agentTask(name: string, mode: AgentMode, goal: string, expected: string, brain: (seen: Seen) => Brain): Task {
  return {
    name: `${name}/${mode}`,
    brain,
    run: async (app, workspaceDir) => {
      const result = await app.agent.run({ goal, mode, scope, workspaceDir });
      const answer = result.answer ?? '';
      const ok = result.status === 'succeeded' && answer === expected;
      return { ok, produced: [answer, ...(await savedFrom(app, result.runId))], why: ok ? '' : `${result.status}: ${result.reason ?? answer}` };
    },
  };
}

const MODES: AgentMode[] = ['react', 'plan', 'reflexion'];
const TASKS: Task[] = [
  ...MODES.map((mode) => agentTask('tool', mode, 'What time is it in Oslo?', CLOCK_ANSWER, () => clockBrain())),
  ...MODES.map((mode) => agentTask('long-file', mode, 'Read big.txt and tell me what it holds.', FILE_ANSWER, (seen) => fileBrain(() => (seen.fileReads += 1)))),
  agentTask('two-task-plan', 'plan', 'What time is it in Oslo, and when is the deploy window in notes.txt?', PLAN_ANSWER, () => planBrain()),
  {
    name: 'reflection',
    brain: () => clockBrain(),
    run: async (app, workspaceDir) => {
      const { runId } = await app.agent.run({ goal: 'What time is it in Oslo?', scope, workspaceDir });
      await recordVote(app, runId, { userId: scope.userId, vote: 'down', comment: 'Say which city!' }, { teaches: true });
      await app.reflector.idle();
      const episode = await app.memory.episodes.get(runId);
      const lessons = await Promise.all((episode?.lessonIds ?? []).map((id) => app.memory.semantic.get(id)));
      const texts = lessons.map((l) => l?.text ?? '');
      const ok = texts.length === 1 && texts[0]?.includes(LESSON.doInstead) === true;
      return { ok, produced: [episode?.answer ?? '', ...texts, ...(await savedFrom(app, runId))], why: ok ? '' : `lessons: ${JSON.stringify(texts)}` };
    },
  },
];

/** Thoughts in what the client sent back as the assistant's turns. */
const echoedThoughts = (requests: readonly ChatCompletionRequestBody[]) =>
  requests.some((body) => body.messages.some((m) => m.role === 'assistant' && hasThought(JSON.stringify(m))));

/** For the summary line: the largest request sent, and the read_file results the brains saw. */
interface Seen {
  peakTokens: number;
  fileReads: number;
}

async function benchProfile(p: ServerProfile, failures: string[], seen: Seen): Promise<Counts> {
  const counts = zero();
  const fake: FakeOpenAi = await startFakeOpenAi(p.server);
  const dir = await mkdtemp(path.join(os.tmpdir(), `cairn-bench-compat-${p.name}-`));
  let app: App | undefined;
  try {
    const env = { OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: 'k', CAIRN_MODEL: p.model, CAIRN_DATA_DIR: path.join(dir, 'data'), CAIRN_LLM_MAX_RETRIES: '1' };
    app = await createApp(loadConfig(env, ['llm']), silentLogger());
    for (const [i, task] of TASKS.entries()) {
      const workspaceDir = path.join(dir, 'workspaces', String(i));
      await mkdir(workspaceDir, { recursive: true });
      await writeFile(path.join(workspaceDir, 'big.txt'), bigFile(FILE_CHARS));
      await writeFile(path.join(workspaceDir, 'notes.txt'), NOTES);
      fake.reset();
      const brain = task.brain(seen);
      const handler = profileHandler(p, brain);
      fake.respondWith(handler);
      let outcome: Outcome;
      try {
        outcome = await task.run(app, workspaceDir);
      } catch (error) {
        outcome = { ok: false, produced: [], why: `threw: ${String(error)}` };
      }
      const requests = fake.chatRequests();
      const over = requests.filter((body) => fakePromptTokens(body) > p.window).length;
      counts.runs += 1;
      if (outcome.ok) counts.succeeded += 1;
      else failures.push(`${p.name} ${task.name}: ${outcome.why.slice(0, 300)}`);
      if (outcome.produced.some(hasThought) || echoedThoughts(requests)) counts.leakedReasoning += 1;
      if (outcome.produced.some(hasMarkup)) counts.rawToolMarkup += 1;
      counts.overWindow += over;
      for (const body of requests) seen.peakTokens = Math.max(seen.peakTokens, fakePromptTokens(body));
    }
    // Reflections queued by failed runs, and background writes, finish before the app closes.
    await app.reflector.idle();
    await app.memory.settled();
  } finally {
    await app?.close();
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  }
  return counts;
}

const started = Date.now();
const byProfile: Record<string, Counts> = {};
const total = zero();
const failures: string[] = [];
for (const p of PROFILES) {
  const seen: Seen = { peakTokens: 0, fileReads: 0 };
  const counts = await benchProfile(p, failures, seen);
  byProfile[p.name] = counts;
  for (const key of Object.keys(total) as (keyof Counts)[]) total[key] += counts[key];
  console.error(
    `${p.name.padEnd(16)} ${counts.succeeded}/${counts.runs} succeeded; leaked reasoning ${counts.leakedReasoning}, raw tool markup ${counts.rawToolMarkup}, ` +
      `requests over the ${p.window}-token window ${counts.overWindow} (largest ${seen.peakTokens}); ${seen.fileReads} reads of big.txt`,
  );
}
for (const failure of failures) console.error(`  failed: ${failure}`);

const report = { profiles: PROFILES.length, ...total, byProfile };
if (!values.json) {
  console.log(`${total.succeeded}/${total.runs} runs succeeded over ${PROFILES.length} server profiles in ${((Date.now() - started) / 1000).toFixed(1)} s; leaked reasoning ${total.leakedReasoning}, raw tool markup ${total.rawToolMarkup}, requests over the window ${total.overWindow}`);
}
console.log(JSON.stringify(report));
