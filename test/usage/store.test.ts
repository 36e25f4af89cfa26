import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { OpenAiChatModel } from '../../src/llm/client.js';
import { silentLogger } from '../../src/log.js';
import { withCommitRetry } from '../../src/memory/db.js';
import { RunMemory } from '../../src/memory/run-memory.js';
import { builtinTools } from '../../src/tools/builtin/index.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import { personalText, serverText } from '../../src/usage/format.js';
import { recordingUsage } from '../../src/usage/recorder.js';
import { usageSchema } from '../../src/usage/schema.js';
import { USAGE_KEEP_MS, UsageStore, type UsageEntry } from '../../src/usage/store.js';
import { groupsOf, periodOf, periodStarts, topAndRest, topRuns } from '../../src/usage/summary.js';
import { DEFAULT_TEST_LIMITS } from '../agent/harness.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { useTempMemory } from '../memory/helpers.js';

const fake = useFakeOpenAi();
const mem = useTempMemory();

const NOW = Date.parse('2026-03-20T15:00:00Z');
const DAY = 86_400_000;
let n = 0;
const entry = (over: Partial<UsageEntry>): UsageEntry => ({
  id: `run-${++n}`,
  kind: 'run',
  userId: 'alice',
  guildId: 'g-1',
  channelId: 'c-1',
  scheduleId: null,
  trigger: 'slash',
  visibility: 'channel',
  goal: 'Summarise the changelog',
  promptTokens: 1_000,
  completionTokens: 200,
  usd: 0.01,
  at: NOW,
  ...over,
});

describe('the usage store', () => {
  it('reads one person’s or one server’s month, with unknown costs kept unknown', async () => {
    const memory = await mem.open();
    const usage = await UsageStore.open(memory.db);
    const rows = [
      entry({ usd: 0.25 }),
      entry({ usd: null, at: NOW - 2 * DAY }),
      entry({ kind: 'reflection', id: 'run-1:down:alice', trigger: 'down_vote', usd: 0.002, promptTokens: 300, completionTokens: 50 }),
      entry({ userId: 'bob', usd: 1.5, at: NOW - DAY, goal: 'x'.repeat(500) }),
      entry({ userId: 'bob', scheduleId: 'abc123', trigger: 'schedule', usd: 0.5 }),
      entry({ userId: 'carol', visibility: 'private', goal: 'my secret plan', usd: 2.5 }),
      // Another server, a DM, and last month: none of it is this server's month.
      entry({ guildId: 'g-2', usd: 9 }),
      entry({ guildId: null, channelId: null, usd: 7 }),
      entry({ at: Date.parse('2026-02-28T23:59:59Z'), usd: 5 }),
    ];
    for (const row of rows) await usage.record(row);
    const { dayStart, monthStart } = periodStarts(NOW);
    expect(new Date(monthStart).toISOString()).toBe('2026-03-01T00:00:00.000Z');

    const alice = periodOf(await usage.forUser('alice', monthStart), dayStart);
    // Everywhere she paid for this month: the server's, the other server's and her DM's.
    expect(alice.month).toEqual({ runs: 4, reflections: 1, tokens: 4 * 1_200 + 350, knownUsd: expect.closeTo(16.252, 10) as number, unknownCost: 1 });
    expect(alice.today).toMatchObject({ runs: 3, reflections: 1, unknownCost: 0 });

    const server = await usage.forServer('g-1', monthStart);
    expect(server.map((r) => r.id).sort()).toEqual(rows.slice(0, 6).map((r) => r.id).sort());
    const people = groupsOf(server, (r) => r.user_id, dayStart);
    expect(people.map((g) => [g.key, g.month.runs])).toEqual([['carol', 1], ['bob', 2], ['alice', 2]]);
    expect(groupsOf(server, (r) => r.schedule_id, dayStart).map((g) => g.key)).toEqual(['abc123']);
    const { top, rest } = topAndRest(people, 1);
    expect(top.map((g) => g.key)).toEqual(['carol']);
    expect(rest).toMatchObject({ count: 2, month: { runs: 4, reflections: 1 } });
    const costliest = topRuns(server, 5);
    expect(costliest.map((r) => r.usd)).toEqual([2.5, 1.5, 0.5, 0.25]);
    const goals = await usage.goals('g-1', costliest.map((r) => r.id));
    expect(goals.get(costliest[1]?.id ?? '')?.goal).toHaveLength(200);
    // Ids of another server's runs are not looked up there.
    expect((await usage.goals('g-1', [rows[6]?.id ?? ''])).size).toBe(0);
  });

  it('drops rows older than about 400 days, and refuses a row that does not check out', async () => {
    const memory = await mem.open();
    const usage = await UsageStore.open(memory.db);
    await usage.record(entry({ id: 'old', at: NOW - USAGE_KEEP_MS - 1 }));
    await usage.record(entry({ id: 'kept', at: NOW - USAGE_KEEP_MS + DAY }));
    await usage.prune(NOW);
    expect((await usage.forUser('alice', 0)).length).toBe(1);
    const table = await memory.db.table('usage', usageSchema);
    await withCommitRetry(table, () => table.update({ where: `id = 'kept'`, valuesSql: { kind: "'bogus'" } }));
    await expect(usage.forUser('alice', 0)).rejects.toThrow();
  });

  it('records every finished run through the agent’s memory port, with its payer, place, tokens and cost', async () => {
    const memory = await mem.open();
    const usage = await UsageStore.open(memory.db);
    const log = silentLogger();
    const model = new OpenAiChatModel({ model: 'gpt-4o-mini', baseURL: fake.baseURL, apiKey: 'k', timeoutMs: 5_000, maxRetries: 0, log });
    const agent = new Agent({
      model,
      tools: new ToolRegistry(builtinTools()),
      log,
      price: { inputPerMTok: 1, outputPerMTok: 2 },
      limits: DEFAULT_TEST_LIMITS,
      workspaceRoot: '/tmp',
      memory: recordingUsage(new RunMemory(memory, log), usage, (work, what) => {
        memory.track(work, what, log);
      }),
    });
    fake.script({ kind: 'text', content: 'All green.', usage: { prompt: 1_000, completion: 500 } }, { kind: 'text', content: 'Hi.', usage: { prompt: 10, completion: 5 } });
    const scheduled = await agent.run({ goal: 'Check the status page', scope: { userId: 'schedule-abc123', channelId: 'c-1', guildId: 'g-1' }, trigger: 'schedule', billedTo: 'carol' });
    await agent.run({ goal: 'Say hi', visibility: 'private' });
    await memory.settled();
    const carol = await usage.forUser('carol', 0);
    expect(carol).toEqual([{ kind: 'run', usd: 0.002, prompt_tokens: 1_000, completion_tokens: 500, at: Date.parse(scheduled.endedAt) }]);
    expect((await usage.forServer('g-1', 0)).map((r) => [r.id, r.user_id, r.schedule_id])).toEqual([[scheduled.runId, 'carol', 'abc123']]);
    // A terminal run has no server: it counts for its user ("local") alone.
    expect(await usage.forUser('local', 0)).toHaveLength(1);
  });
});

describe('/usage text', () => {
  it('shows tokens and costs for people, unknown costs as unknown, and private goals to nobody', () => {
    const { dayStart } = periodStarts(NOW);
    const period = periodOf(
      [
        { kind: 'run', usd: 0.25, prompt_tokens: 10_000, completion_tokens: 2_345, at: NOW },
        { kind: 'run', usd: null, prompt_tokens: 100, completion_tokens: 20, at: NOW - 3 * DAY },
      ],
      dayStart,
    );
    const text = personalText({ period, user: { limitUsd: 5, spentUsd: 0.25, heldUsd: 1 }, server: { limitUsd: null, spentUsd: 3.5, heldUsd: 0 }, resetInHours: 9 });
    expect(text).toContain('Today: 1 run · 12.3K tokens · $0.25');
    expect(text).toContain('This month: 2 runs · 12.5K tokens · $0.25 + 1 item of unknown cost');
    expect(text).toContain('Your daily budget: $0.25 of $5.00 spent today (5%) · $1.00 held by runs in progress');
    expect(text).toContain('This server’s daily budget: no limit · $3.50 spent today');
    const unknown = periodOf([{ kind: 'run', usd: null, prompt_tokens: 1, completion_tokens: 1, at: NOW }], dayStart);
    expect(personalText({ period: unknown, user: { limitUsd: 5, spentUsd: 0, heldUsd: 0 }, server: null, resetInHours: 9 })).toContain('Today: 1 run · 2 tokens · cost unknown');

    const server = serverText({
      period,
      people: { top: [], rest: null },
      schedules: { top: [], rest: null },
      topRuns: [
        { id: 'r1', userId: 'alice', usd: 1.5, goal: 'Summarise the changelog' },
        { id: 'r2', userId: 'carol', usd: 0.5, goal: null },
      ],
    });
    expect(server).toContain('• `r1` $1.50 — Summarise the changelog · <@alice>');
    expect(server).toContain('• `r2` $0.50 — *(a private run)* · <@carol>');
  });
});
