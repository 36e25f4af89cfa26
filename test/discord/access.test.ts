import { isQueued, type QueuedStart } from '../../src/discord/run-line.js';
import { describe, expect, it } from 'vitest';
import { Budgets } from '../../src/budget/budgets.js';
import { DailyBudget } from '../../src/budget/daily-budget.js';
import { AccessPolicy, RunLimiter, type Caller, type RunTicket } from '../../src/discord/access.js';
import { decodeAction, encodeAction } from '../../src/discord/components.js';

const caller = (overrides: Partial<Caller> = {}): Caller => ({ userId: '100000000000000001', roleIds: [], channelId: '200000000000000001', guildId: '500000000000000001', inGuild: true, canManageGuild: false, ...overrides });

describe('access policy', () => {
  it('lets everyone in when no lists are configured', () => {
    expect(new AccessPolicy({ allowedUsers: [], allowedRoles: [], allowedChannels: [], adminRoles: [] }).refusal(caller())).toBeNull();
  });

  it('admits listed users or holders of a listed role, in listed channels only', () => {
    const policy = new AccessPolicy({ allowedUsers: ['100000000000000001'], allowedRoles: ['300000000000000001'], allowedChannels: ['200000000000000001'], adminRoles: [] });
    expect(policy.refusal(caller())).toBeNull();
    expect(policy.refusal(caller({ userId: '100000000000000009', roleIds: ['300000000000000001'] }))).toBeNull();
    expect(policy.refusal(caller({ userId: '100000000000000009' }))).toMatch(/not on the list/);
    expect(policy.refusal(caller({ channelId: '200000000000000002' }))).toMatch(/answers in: <#200000000000000001>/);
    // A channel allow-list admits DMs only when it lists `dm`.
    expect(policy.refusal(caller({ channelId: 'dm', guildId: null, inGuild: false }))).toMatch(/does not answer direct messages/);
    const withDms = new AccessPolicy({ allowedUsers: ['100000000000000001'], allowedRoles: [], allowedChannels: ['200000000000000001', 'dm'], adminRoles: [] });
    expect(withDms.refusal(caller({ channelId: 'dm', guildId: null, inGuild: false }))).toBeNull();
    expect(withDms.refusal(caller({ channelId: '200000000000000002' }))).toMatch(/answers in: <#200000000000000001>\./);
    // Roles do not exist in DMs: a role-only allow-list admits nobody there.
    const rolesOnly = new AccessPolicy({ allowedUsers: [], allowedRoles: ['300000000000000001'], allowedChannels: [], adminRoles: [] });
    expect(rolesOnly.refusal(caller({ channelId: 'dm', guildId: null, inGuild: false }))).toMatch(/not on the list/);
  });

  it('treats Manage Server and configured admin roles as admins', () => {
    const policy = new AccessPolicy({ allowedUsers: [], allowedRoles: [], allowedChannels: [], adminRoles: ['400000000000000001'] });
    expect(policy.isAdmin(caller())).toBe(false);
    expect(policy.isAdmin(caller({ canManageGuild: true }))).toBe(true);
    expect(policy.isAdmin(caller({ roleIds: ['400000000000000001'] }))).toBe(true);
    // Admin of this server only: never in DMs, never over another server's things.
    expect(policy.isAdmin(caller({ canManageGuild: true, guildId: null, inGuild: false }))).toBe(false);
    expect(policy.isAdminOf(caller({ canManageGuild: true }), '500000000000000001')).toBe(true);
    expect(policy.isAdminOf(caller({ canManageGuild: true }), '500000000000000002')).toBe(false);
    expect(policy.isAdminOf(caller({ canManageGuild: true }), null)).toBe(false);
  });
});

const noTrack = (): void => undefined;
const limiterWith = (limits: { runsPerMinute?: number; maxConcurrentRuns?: number; dailyUsd?: number }, now: () => number = Date.now) =>
  new RunLimiter(
    { runsPerMinute: limits.runsPerMinute ?? 100, commandsPerMinute: 3, maxConcurrentRuns: limits.maxConcurrentRuns ?? 100 },
    new Budgets(new DailyBudget(limits.dailyUsd ?? 10, null, noTrack, now)),
    now,
  );
const started = (ticket: RunTicket | string | QueuedStart<RunTicket>): RunTicket => {
  if (typeof ticket === 'string') throw new Error(`refused: ${ticket}`);
  if (isQueued(ticket)) throw new Error(`waiting, ${ticket.position()} in line`);
  return ticket;
};

describe('run limiter', () => {
  it('allows the configured runs per minute per user, then says when to retry', () => {
    let now = 1_000_000;
    const limiter = limiterWith({ runsPerMinute: 5 }, () => now);
    for (let i = 0; i < 5; i++) started(limiter.tryStart('a', 0.01));
    expect(limiter.tryStart('a', 0.01)).toMatch(/at most 5 runs a minute\. Try again in 60 s/);
    started(limiter.tryStart('b', 0.01));
    now += 60_001;
    started(limiter.tryStart('a', 0.01));
  });

  it('limits commands per user per minute', () => {
    let now = 1_000_000;
    const limiter = limiterWith({}, () => now);
    for (let i = 0; i < 3; i++) expect(limiter.command('a')).toBeNull();
    expect(limiter.command('a')).toMatch(/at most 3 commands a minute/);
    expect(limiter.command('b')).toBeNull();
    now += 60_001;
    expect(limiter.command('a')).toBeNull();
  });

  it('stops a user at their daily budget until the next UTC day', () => {
    let now = Date.parse('2026-11-21T12:00:00Z');
    const limiter = limiterWith({ dailyUsd: 1 }, () => now);
    started(limiter.tryStart('a', 1)).finish(0.7, 'r1');
    expect(limiter.budget.remaining('a')).toBeCloseTo(0.3);
    const second = started(limiter.tryStart('a', 1));
    expect(second.capUsd).toBeCloseTo(0.3);
    second.finish(0.3, 'r2');
    expect(limiter.tryStart('a', 1)).toMatch(/daily budget of \$1\.00.*in about 12 h/);
    now += 12 * 3_600_000;
    started(limiter.tryStart('a', 1));
  });

  it('holds each run’s cost limit from the budget while it runs, so concurrent runs cannot overspend', () => {
    const limiter = limiterWith({ dailyUsd: 5 });
    // Six runs at once, each allowed $1: the budget covers five, the sixth is refused.
    const tickets = Array.from({ length: 5 }, () => started(limiter.tryStart('a', 1)));
    expect(tickets.map((t) => t.capUsd)).toEqual([1, 1, 1, 1, 1]);
    expect(limiter.tryStart('a', 1)).toMatch(/daily budget/);
    // A run that spent less gives the rest back when it settles.
    tickets[0]?.finish(0.25, 'r1');
    expect(started(limiter.tryStart('a', 1)).capUsd).toBeCloseTo(0.75);
    // Finishing twice books once.
    tickets[0]?.finish(0.25, 'r1');
    expect(limiter.budget.spentToday('a')).toBeCloseTo(0.25);
  });

  it('caps concurrent runs across users; later runs wait in line, first come first served, and start as slots free', async () => {
    const limiter = limiterWith({ maxConcurrentRuns: 2 });
    const first = started(limiter.tryStart('a', 0.01));
    const second = started(limiter.tryStart('b', 0.01));
    const c = limiter.tryStart('c', 0.01);
    const d = limiter.tryStart('d', 0.01);
    if (!isQueued(c) || !isQueued(d)) throw new Error('expected both to wait');
    expect([c.position(), d.position()]).toEqual([1, 2]);
    const moves: number[] = [];
    d.onMove((position) => moves.push(position));
    first.finish(null, 'r1');
    const cTicket = started(await c.ready);
    expect(d.position()).toBe(1);
    expect(moves).toEqual([1]);
    // A new run joins the line behind those waiting, even with a slot free in between.
    second.finish(null, 'r2');
    started(await d.ready);
    cTicket.finish(null, 'r3');
    started(limiter.tryStart('e', 0.01));
  });

  it('bounds the line, and a shutdown tells those in it why their run will not start', async () => {
    const limiter = limiterWith({ maxConcurrentRuns: 1 });
    started(limiter.tryStart('a', 0.01));
    const waiting = Array.from({ length: 10 }, (_, i) => limiter.tryStart(`u${i}`, 0.01));
    expect(waiting.every((w) => isQueued(w))).toBe(true);
    expect(limiter.tryStart('late', 0.01)).toMatch(/busy with 1 runs and 10 more waiting/);
    limiter.closeLine('Cairn is restarting.');
    const first = waiting[0];
    expect(isQueued(first) ? await first.ready : first).toBe('Cairn is restarting.');
  });
});

describe('button ids', () => {
  it('round-trip and reject anything foreign or malformed', () => {
    for (const action of [{ kind: 'vote', vote: 'down', runId: 'mwq3k2a1-4f9c2e' }, { kind: 'cancel', runId: 'mwq3k2a1-4f9c2e' }, { kind: 'comment', runId: 'mwq3k2a1-4f9c2e' }] as const) {
      expect(decodeAction(encodeAction(action))).toEqual(action);
    }
    expect(decodeAction('other:vote:up:mwq3k2a1-4f9c2e')).toBeNull();
    expect(decodeAction('cairn:vote:sideways:mwq3k2a1-4f9c2e')).toBeNull();
    expect(decodeAction("cairn:cancel:'; DROP TABLE")).toBeNull();
  });
});
