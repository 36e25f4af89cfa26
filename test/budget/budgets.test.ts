import { describe, expect, it } from 'vitest';
import { Budgets, isBudgetRefusal, type BudgetHold, type BudgetRefusal, type ServerBudgetWarning } from '../../src/budget/budgets.js';
import { DailyBudget } from '../../src/budget/daily-budget.js';
import { SpendLedger } from '../../src/budget/ledger.js';
import { envBudgetLimits, serverAccount } from '../../src/budget/limits.js';
import { refusalForPerson, refusalForSchedule } from '../../src/budget/refusal-text.js';
import { WarnedServers } from '../../src/budget/warned-servers.js';
import { silentLogger } from '../../src/log.js';
import type { Memory } from '../../src/memory/memory.js';
import { useTempMemory } from '../memory/helpers.js';

const mem = useTempMemory();
const G = 'g-1';
const here = (userId: string, guildId: string | null = G) => ({ userId, guildId, channelId: guildId === null ? null : 'c-1' });
const held = (r: BudgetHold | BudgetRefusal): BudgetHold => {
  if (isBudgetRefusal(r)) throw new Error(`refused: ${refusalForPerson(r)}`);
  return r;
};
const refused = (r: BudgetHold | BudgetRefusal): BudgetRefusal => {
  if (!isBudgetRefusal(r)) throw new Error('expected a refusal');
  return r;
};

/** Budgets over a memory's spend ledger and meta table, as the app builds them. */
async function open(memory: Memory, limits: { user: number; server: number | null }, now: () => number = Date.now) {
  const log = silentLogger();
  const track = (work: Promise<unknown>, what: string) => {
    memory.track(work, what, log);
  };
  const daily = new DailyBudget(limits.user, new SpendLedger(memory.db.spend), track, now);
  const budgets = new Budgets(daily, envBudgetLimits({ dailyBudgetUsd: limits.user, serverDailyBudgetUsd: limits.server }), new WarnedServers(memory.db.meta, track), track);
  await budgets.load();
  const warnings: ServerBudgetWarning[] = [];
  budgets.onServerWarning = (w) => {
    warnings.push(w);
  };
  return { budgets, daily, warnings };
}

describe('server budgets', () => {
  it('hold every run in a server to its payer’s budget and the server’s: concurrent runs cannot together pass either', () => {
    const daily = new DailyBudget(10, null, () => undefined);
    const budgets = new Budgets(daily, envBudgetLimits({ dailyBudgetUsd: 10, serverDailyBudgetUsd: 1 }));
    // Three people start at once, each asking for $0.80: the server's $1 covers the first and part of the second.
    const alice = held(budgets.reserve(here('alice'), 0.8));
    const bob = held(budgets.reserve(here('bob'), 0.8));
    expect([alice.capUsd, bob.capUsd].map((c) => Number(c.toFixed(6)))).toEqual([0.8, 0.2]);
    const carol = refused(budgets.reserve(here('carol'), 0.8));
    expect(carol).toMatchObject({ budget: 'server', guildId: G, limitUsd: 1, spentUsd: 0 });
    expect(carol.heldUsd).toBeCloseTo(1, 10);
    // A DM (or another server) is not this server's spend.
    expect(held(budgets.reserve(here('carol', null), 0.8)).capUsd).toBe(0.8);
    expect(held(budgets.reserve(here('carol', 'g-2'), 0.8)).capUsd).toBe(0.8);

    // Settling books the cost to both accounts and frees the rest of the hold.
    alice.settle(0.5, { kind: 'run', id: 'r1' });
    alice.settle(0.5, { kind: 'run', id: 'r1' });
    expect(daily.spentToday(serverAccount(G))).toBeCloseTo(0.5, 10);
    expect(daily.spentToday('alice')).toBeCloseTo(0.5, 10);
    expect(held(budgets.reserve(here('carol'), 0.8)).capUsd).toBeCloseTo(0.3, 10);
    expect(budgets.refusal(here('dave'))).toMatchObject({ budget: 'server' });
    bob.settle(null, { kind: 'run', id: 'r2' });
    // Bob's unknown cost books nothing; his hold is released.
    expect(budgets.refusal(here('dave'))).toBeNull();
  });

  it('refuses in words that say which budget, how far, when it resets and who can change it', () => {
    let now = Date.parse('2026-03-04T19:00:00Z');
    const daily = new DailyBudget(1, null, () => undefined, () => now);
    const budgets = new Budgets(daily, envBudgetLimits({ dailyBudgetUsd: 1, serverDailyBudgetUsd: 2 }));
    held(budgets.reserve(here('alice'), 1)).settle(1, { kind: 'run', id: 'r1' });
    const mine = refused(budgets.reserve(here('alice'), 1));
    expect(mine.budget).toBe('user');
    expect(refusalForPerson(mine)).toBe(
      'You have used your daily budget of $1.00 (or it is held by your runs in progress): $1.00 spent today. It resets at 00:00 UTC (in about 5 h). Server admins can change it here with `/config set user_daily_budget_usd`, up to the limit Cairn’s operator set.',
    );
    held(budgets.reserve(here('bob'), 1)).settle(1.25, { kind: 'run', id: 'r2' });
    const server = refused(budgets.reserve(here('carol'), 1));
    expect(refusalForPerson(server)).toBe(
      "This server's daily budget of $2.00 is used up ($2.25 spent today). It resets at 00:00 UTC (in about 5 h). Server admins can change it with `/config set server_daily_budget_usd`.",
    );
    expect(refusalForSchedule(server)).toMatch(/^this server's daily budget of \$2\.00 is spent \(\$2\.25 spent or held today; it resets at 00:00 UTC, in about 5 h\)\. Server admins can change it with `\/config set server_daily_budget_usd`\.$/);
    // A new UTC day starts every budget afresh.
    now += 5 * 3_600_000;
    expect(budgets.refusal(here('carol'))).toBeNull();
    expect(budgets.refusal(here('alice'))).toBeNull();
  });

  it('keeps a server’s spend across a restart', async () => {
    const memory = await mem.open();
    const first = await open(memory, { user: 5, server: 1 });
    held(first.budgets.reserve(here('alice'), 1)).settle(0.7, { kind: 'run', id: 'r1' });
    held(first.budgets.reserve(here('bob'), 1)).settle(0.3, { kind: 'reflection', id: 'r1:down:bob' });
    await memory.close();

    const again = await open(await mem.open(), { user: 5, server: 1 });
    expect(again.daily.spentToday(serverAccount(G))).toBeCloseTo(1, 10);
    expect(again.daily.spentToday('alice')).toBeCloseTo(0.7, 10);
    expect(refused(again.budgets.reserve(here('carol'), 1))).toMatchObject({ budget: 'server', limitUsd: 1 });
  });

  it('with several processes (a queue’s workers), each counts what the others spent once it reads the ledger again', async () => {
    const memoryA = await mem.open({ shared: true });
    const memoryB = await mem.open({ shared: true });
    const a = await open(memoryA, { user: 1, server: null });
    const b = await open(memoryB, { user: 1, server: null });
    held(a.budgets.reserve(here('alice'), 1)).settle(0.7, { kind: 'run', id: 'r1' });
    // Read again at once: what this process settled counts, written or not.
    await a.daily.reload();
    expect(a.daily.spentToday('alice')).toBeCloseTo(0.7, 10);
    await memoryA.settled();
    expect(b.daily.spentToday('alice')).toBe(0);
    await b.daily.reload();
    expect(b.daily.spentToday('alice')).toBeCloseTo(0.7, 10);
    // Alice's next run on the other process may spend only what is left.
    expect(held(b.budgets.reserve(here('alice'), 1)).capUsd).toBeCloseTo(0.3, 10);
    await memoryA.close();
    await memoryB.close();
  });

  it('counts a server’s spend without a limit, so a limit set later applies to the day so far', () => {
    const daily = new DailyBudget(5, null, () => undefined);
    const budgets = new Budgets(daily, envBudgetLimits({ dailyBudgetUsd: 5, serverDailyBudgetUsd: null }));
    held(budgets.reserve(here('alice'), 1)).settle(0.9, { kind: 'run', id: 'r1' });
    expect(budgets.standing('alice', G).server).toEqual({ limitUsd: null, spentUsd: 0.9, heldUsd: 0 });
    budgets.setLimits({ userDailyUsd: () => 5, serverDailyUsd: (g) => (g === G ? 0.5 : null) });
    expect(budgets.refusal(here('bob'))).toMatchObject({ budget: 'server', limitUsd: 0.5 });
    expect(budgets.refusal(here('bob', 'g-2'))).toBeNull();
  });

  it('tells a server’s admins once per UTC day when 80% is spent, also across a restart', async () => {
    let now = Date.parse('2026-03-04T10:00:00Z');
    const clock = () => now;
    const memory = await mem.open();
    const first = await open(memory, { user: 5, server: 1 }, clock);
    held(first.budgets.reserve(here('alice'), 1)).settle(0.7, { kind: 'run', id: 'r1' });
    expect(first.warnings).toEqual([]);
    // Two runs settle past the mark: one notice.
    const a = held(first.budgets.reserve(here('bob'), 0.15));
    const b = held(first.budgets.reserve(here('carol'), 0.15));
    a.settle(0.15, { kind: 'run', id: 'r2' });
    b.settle(0.05, { kind: 'run', id: 'r3' });
    await memory.settled();
    expect(first.warnings).toHaveLength(1);
    expect(first.warnings[0]).toMatchObject({ guildId: G, channelId: 'c-1', limitUsd: 1, resetInHours: 14 });
    expect(first.warnings[0]?.spentUsd).toBeCloseTo(0.85, 10);
    await memory.close();

    // Restarted the same day: spend is still past the mark, and nobody is told again.
    const reopened = await mem.open();
    const again = await open(reopened, { user: 5, server: 1 }, clock);
    held(again.budgets.reserve(here('bob'), 0.1)).settle(0.01, { kind: 'run', id: 'r4' });
    await reopened.settled();
    expect(again.warnings).toEqual([]);
    // The next day starts afresh: reaching 80% again is told again.
    now += 86_400_000;
    held(again.budgets.reserve(here('bob'), 1)).settle(0.9, { kind: 'run', id: 'r5' });
    await reopened.settled();
    expect(again.warnings).toHaveLength(1);
  });
});
