import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { Budgets } from '../../src/budget/budgets.js';
import { DailyBudget } from '../../src/budget/daily-budget.js';
import { SpendLedger } from '../../src/budget/ledger.js';
import { Reflector } from '../../src/feedback/reflector.js';
import { OpenAiChatModel } from '../../src/llm/client.js';
import { silentLogger } from '../../src/log.js';
import type { Memory } from '../../src/memory/memory.js';
import { RunMemory } from '../../src/memory/run-memory.js';
import { builtinTools } from '../../src/tools/builtin/index.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import { DEFAULT_TEST_LIMITS } from '../agent/harness.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { useTempMemory } from '../memory/helpers.js';

const fake = useFakeOpenAi();
const mem = useTempMemory();
const scope = { userId: 'u-ada', userName: 'Ada', channelId: 'c-ops', guildId: 'g-1' };
const LESSON = {
  wentWrong: 'It gave the deploy time in UTC although the team works in Oslo time.',
  doInstead: 'State deploy times in Europe/Oslo time, with the UTC offset.',
  appliesWhen: 'answering questions about deploy times or schedules',
};

function setup(memory: Memory, now?: () => number) {
  const log = silentLogger();
  const model = new OpenAiChatModel({ model: 'test-model', baseURL: fake.baseURL, apiKey: 'k', timeoutMs: 5_000, maxRetries: 0, log });
  const reflector = new Reflector(memory, model, log, now);
  const agent = new Agent({
    model,
    tools: new ToolRegistry(builtinTools()),
    log,
    price: undefined,
    limits: DEFAULT_TEST_LIMITS,
    workspaceRoot: '/tmp',
    memory: new RunMemory(memory, log),
  });
  return { agent, reflector };
}

/** A reflector paying from a daily budget of `usd` a person (gpt-4o-mini prices), and a run of Ada's to reflect on. */
async function budgetedReflection(usd: number) {
  const memory = await mem.open();
  const log = silentLogger();
  const model = new OpenAiChatModel({ model: 'gpt-4o-mini', baseURL: fake.baseURL, apiKey: 'k', timeoutMs: 5_000, maxRetries: 0, log });
  const daily = new DailyBudget(usd, new SpendLedger(memory.db.spend), (work) => {
    memory.track(work, 'spend', log);
  });
  const reflector = new Reflector(memory, model, log, undefined, { budgets: new Budgets(daily), price: { inputPerMTok: 0.15, outputPerMTok: 0.6 } });
  const { agent } = setup(memory);
  fake.script({ kind: 'text', content: 'We deploy at 12:00 UTC.' });
  const run = await agent.run({ goal: 'When is the deploy window this week?', scope });
  return { memory, daily, reflector, run };
}

const systemPrompt = (request: number) => JSON.stringify(fake.chatRequests()[request]?.messages[0] ?? '');

describe('reflection on 👎', () => {
  it('is made once when several processes share the table: the first to claim a due reflection makes it', async () => {
    const first = await mem.open();
    const second = await mem.open();
    const { agent, reflector: one } = setup(first);
    const { reflector: other } = setup(second);
    fake.script({ kind: 'text', content: 'We deploy at 12:00 UTC.' });
    const run = await agent.run({ goal: 'When is the deploy window?', scope });
    // Due in a moment, so that both processes find it on their next pass, at the same time.
    await one.request({ runId: run.runId, cause: 'down_vote', userId: 'u-ada', comment: 'Oslo time', delayMs: 60_000 });
    await first.db.reflections.update({ where: 'true', valuesSql: { next_attempt_at: String(Date.now()) } });
    // The other process has seen it due too (its reads lag by up to LanceDB's 1 s consistency interval).
    await second.db.reflections.checkoutLatest();
    await second.db.episodes.checkoutLatest();
    fake.respondWith(() => ({ kind: 'text', content: JSON.stringify(LESSON), delayMs: 300 }));
    one.kick();
    other.kick();
    await Promise.all([one.idle(), other.idle()]);
    expect(fake.chatRequests()).toHaveLength(2); // the run, and one review
    // Seen from either connection once their reads catch up (within LanceDB's 1 s consistency interval).
    await expect.poll(() => first.semantic.count(`kind = 'lesson'`), { timeout: 5_000 }).toBe(1);
    await expect.poll(() => second.semantic.count(`kind = 'lesson'`), { timeout: 5_000 }).toBe(1);
    await one.close();
    await other.close();
  });


  it('turns a 👎 with a comment into a lesson used by the next related run, not by an unrelated one', async () => {
    const memory = await mem.open();
    const { agent, reflector } = setup(memory);
    fake.script({ kind: 'text', content: 'We deploy at 12:00 UTC.' });
    const first = await agent.run({ goal: 'When is the deploy window this week?', scope });
    await memory.episodes.vote(first.runId, { userId: 'u-ada', vote: 'down', comment: 'Use Oslo time!', at: 1 });

    fake.script({ kind: 'text', content: JSON.stringify(LESSON) });
    await reflector.request({ runId: first.runId, cause: 'down_vote', userId: 'u-ada', comment: 'Use Oslo time!' });
    await reflector.idle();
    // The reviewer saw the goal, the answer and the user's comment, and was asked for a structured lesson.
    const review = fake.chatRequests()[1];
    expect(JSON.stringify(review?.messages)).toMatch(/When is the deploy window this week\?.*We deploy at 12:00 UTC\..*Use Oslo time!/s);
    expect(review?.response_format).toMatchObject({ type: 'json_schema' });
    const episode = await memory.episodes.get(first.runId);
    expect(episode?.lessonIds).toHaveLength(1);
    const lesson = await memory.semantic.get(episode?.lessonIds[0] ?? '');
    expect(lesson).toMatchObject({ kind: 'lesson', scopeKey: 'channel:c-ops', sourceRunId: first.runId });

    fake.script({ kind: 'text', content: 'The deploy is at 14:00 Oslo time (UTC+1).' }, { kind: 'text', content: 'Here is a haiku.' });
    const related = await agent.run({ goal: 'What time is the deploy on Tuesday?', scope });
    expect(systemPrompt(2)).toContain('State deploy times in Europe/Oslo time');
    const unrelated = await agent.run({ goal: 'Write a haiku about autumn leaves', scope });
    expect(systemPrompt(3)).not.toContain('Oslo');
    expect([related.status, unrelated.status]).toEqual(['succeeded', 'succeeded']);
  });

  it('a retry pressed while a 👎 is still being recorded waits for its reflection and gets its lesson', async () => {
    const memory = await mem.open();
    const { agent, reflector } = setup(memory);
    fake.script({ kind: 'text', content: 'We deploy at 12:00 UTC.' });
    const first = await agent.run({ goal: 'When is the deploy window this week?', scope });
    // The vote is stored; its reflection is recorded a moment later (a busy server).
    await memory.episodes.vote(first.runId, { userId: 'u-ada', vote: 'down', comment: null, at: Date.now() });
    fake.script({ kind: 'text', content: JSON.stringify(LESSON) });
    const asked = reflector.lessonFromDownVote(first.runId, 'u-ada', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await reflector.request({ runId: first.runId, cause: 'down_vote', userId: 'u-ada', comment: null, delayMs: 60_000 });
    const lesson = await asked;
    expect(lesson.state).toBe('learned');
    // Someone whose last vote is not a 👎 is not waited for.
    const started = Date.now();
    expect(await reflector.lessonFromDownVote(first.runId, 'u-bob', 10_000)).toEqual({ state: 'none' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('loses nothing while the model is down, and learns exactly once when it is back', async () => {
    let now = 1_000_000;
    const memory = await mem.open({ now: () => now });
    const { agent, reflector } = setup(memory, () => now);
    fake.script({ kind: 'text', content: 'An answer.' });
    const run = await agent.run({ goal: 'When is the deploy window?', scope });
    await memory.episodes.vote(run.runId, { userId: 'u-ada', vote: 'down', comment: 'wrong zone', at: 1 });

    fake.script({ kind: 'error', status: 503, message: 'overloaded' });
    await reflector.request({ runId: run.runId, cause: 'down_vote', userId: 'u-ada', comment: 'wrong zone' });
    await reflector.idle();
    expect((await memory.episodes.get(run.runId))?.lessonIds).toEqual([]);
    expect((await memory.episodes.get(run.runId))?.feedback).toHaveLength(1); // the vote is kept

    // A second request for the same vote does not make a second reflection.
    await reflector.request({ runId: run.runId, cause: 'down_vote', userId: 'u-ada', comment: 'wrong zone' });
    await reflector.idle();
    expect(fake.chatRequests()).toHaveLength(2); // the run, and the one failed review: not retried yet

    now += 31_000; // past the first retry delay
    fake.script({ kind: 'text', content: JSON.stringify(LESSON) });
    reflector.kick();
    await reflector.idle();
    reflector.kick();
    await reflector.idle();
    expect((await memory.episodes.get(run.runId))?.lessonIds).toHaveLength(1);
    expect(await memory.semantic.count(`kind = 'lesson'`)).toBe(1);
    await reflector.close();
  });

  it('reflects on a failed run by itself, keeping a private run’s lesson private', async () => {
    const memory = await mem.open();
    const log = silentLogger();
    const model = new OpenAiChatModel({ model: 'test-model', baseURL: fake.baseURL, apiKey: 'k', timeoutMs: 5_000, maxRetries: 0, log });
    const reflector = new Reflector(memory, model, log);
    const agent = new Agent({
      model,
      tools: new ToolRegistry(builtinTools()),
      log,
      price: undefined,
      limits: { ...DEFAULT_TEST_LIMITS, maxSteps: 1 },
      workspaceRoot: '/tmp',
      memory: new RunMemory(memory, log, undefined, (run, result) => {
        memory.track(reflector.request({ runId: run.runId, cause: result.status === 'failed' ? 'failed' : 'stopped', userId: run.scope.userId, comment: null }), 'reflect', log);
      }),
    });
    fake.script({ kind: 'tool_calls', calls: [{ name: 'current_time', arguments: {} }] }, { kind: 'text', content: JSON.stringify(LESSON) });
    const run = await agent.run({ goal: 'Find the deploy window', scope, visibility: 'private' });
    expect(run.status).toBe('stopped');
    await memory.settled();
    await reflector.idle();
    const lessonId = (await memory.episodes.get(run.runId))?.lessonIds[0] ?? '';
    expect((await memory.semantic.get(lessonId))?.scopeKey).toBe('user:u-ada');
    await reflector.close();
  });
});

describe('reflections survive crashes and are paid for', () => {
  it('does not write a lesson twice when a crash came between saving it and marking the reflection done', async () => {
    const memory = await mem.open();
    const { agent, reflector } = setup(memory);
    fake.script({ kind: 'text', content: 'We deploy at 12:00 UTC.' });
    const run = await agent.run({ goal: 'When is the deploy window this week?', scope });
    // What a process that crashed right after saving the lesson left behind: the lesson, tagged
    // with its reflection, and the reflection still pending.
    const reflectionId = `${run.runId}:down:u-ada`;
    const { id: lessonId } = await memory.semantic.save({
      text: 'When answering questions about deploy times: use Oslo time.',
      kind: 'lesson',
      scope,
      visibility: 'channel',
      sourceRunId: run.runId,
      metadata: { reflectionId },
    });
    const calls = fake.chatRequests().length;
    await reflector.request({ runId: run.runId, cause: 'down_vote', userId: 'u-ada', comment: null });
    await reflector.idle();
    expect(fake.chatRequests()).toHaveLength(calls); // no second lesson was asked for
    expect((await memory.semantic.list(`kind = 'lesson'`)).map((m) => m.id)).toEqual([lessonId]);
    expect((await memory.episodes.get(run.runId))?.lessonIds).toEqual([lessonId]);
    const rows = await memory.db.reflections.query().toArray();
    expect(rows.map((r: { status: string; lesson_id: string | null }) => [r.status, r.lesson_id])).toEqual([['done', lessonId]]);
    await reflector.close();
  });

  it('charges the payer for a review the model answered malformed twice, and writes no lesson', async () => {
    const { memory, daily, reflector, run } = await budgetedReflection(1);
    const malformed = { kind: 'text', content: 'A lesson: use Oslo time.', usage: { prompt: 1_000, completion: 100 } } as const;
    fake.script(malformed, malformed);
    await reflector.request({ runId: run.runId, cause: 'down_vote', userId: 'u-ada', comment: 'wrong zone' });
    await reflector.idle();
    expect((await memory.episodes.get(run.runId))?.lessonIds).toEqual([]);
    // 2,000 prompt tokens at $0.15/M and 200 completion tokens at $0.60/M.
    expect(daily.spentToday('u-ada')).toBeCloseTo(0.00042, 10);
    await reflector.close();
  });

  it('skips a reflection whose payer has spent their daily budget, keeping the vote', async () => {
    const { memory, daily, reflector, run } = await budgetedReflection(0.01);
    daily.reserve('u-ada', 0.01)?.settle(0.01, { kind: 'run', id: 'earlier' });
    const calls = fake.chatRequests().length;
    await reflector.request({ runId: run.runId, cause: 'down_vote', userId: 'u-ada', comment: 'wrong' });
    await reflector.idle();
    expect(fake.chatRequests()).toHaveLength(calls);
    const rows = await memory.db.reflections.query().toArray();
    expect(rows.map((r: { status: string; error: string | null }) => [r.status, r.error])).toEqual([['done', 'not reflected: the daily budget of u-ada is spent']]);

    // Someone with budget left gets the reflection, and pays for it.
    fake.script({ kind: 'text', content: JSON.stringify(LESSON) });
    await reflector.request({ runId: run.runId, cause: 'down_vote', userId: 'u-bob', comment: 'wrong zone' });
    await reflector.idle();
    expect(daily.spentToday('u-bob')).toBeGreaterThan(0);
    await memory.settled();
    // The run's server pays too (its account is keyed by the server's id).
    expect(await new SpendLedger(memory.db.spend).spentSince(0)).toEqual(
      new Map([['u-ada', 0.01], ['u-bob', daily.spentToday('u-bob')], ['guild:g-1', daily.spentToday('u-bob')]]),
    );
    await reflector.close();
  });
});
