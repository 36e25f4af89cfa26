import { describe, expect, it } from 'vitest';
import { AccessPolicy, RunLimiter, type Caller } from '../../src/discord/access.js';
import { decodeAction, encodeAction } from '../../src/discord/components.js';

const caller = (overrides: Partial<Caller> = {}): Caller => ({ userId: '100000000000000001', roleIds: [], channelId: '200000000000000001', inGuild: true, canManageGuild: false, ...overrides });

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
    // DMs have no channel to restrict.
    expect(policy.refusal(caller({ channelId: 'dm', inGuild: false }))).toBeNull();
  });

  it('treats Manage Server and configured admin roles as admins', () => {
    const policy = new AccessPolicy({ allowedUsers: [], allowedRoles: [], allowedChannels: [], adminRoles: ['400000000000000001'] });
    expect(policy.isAdmin(caller())).toBe(false);
    expect(policy.isAdmin(caller({ canManageGuild: true }))).toBe(true);
    expect(policy.isAdmin(caller({ roleIds: ['400000000000000001'] }))).toBe(true);
  });
});

describe('run limiter', () => {
  it('allows the configured runs per minute per user, then says when to retry', () => {
    let now = 1_000_000;
    const limiter = new RunLimiter({ runsPerMinute: 5, dailyBudgetUsd: 10, maxConcurrentRuns: 100 }, () => now);
    for (let i = 0; i < 5; i++) expect(limiter.tryStart('a')).toBeNull();
    expect(limiter.tryStart('a')).toMatch(/at most 5 runs a minute\. Try again in 60 s/);
    expect(limiter.tryStart('b')).toBeNull();
    now += 60_001;
    expect(limiter.tryStart('a')).toBeNull();
  });

  it('stops a user at their daily budget until the next UTC day', () => {
    let now = Date.parse('2026-11-21T12:00:00Z');
    const limiter = new RunLimiter({ runsPerMinute: 100, dailyBudgetUsd: 1, maxConcurrentRuns: 100 }, () => now);
    expect(limiter.tryStart('a')).toBeNull();
    limiter.finish('a', 0.7);
    expect(limiter.remainingBudget('a')).toBeCloseTo(0.3);
    limiter.addSpend('a', 0.3);
    expect(limiter.tryStart('a')).toMatch(/daily budget of \$1\.00.*in about 12 h/);
    now += 12 * 3_600_000;
    expect(limiter.tryStart('a')).toBeNull();
  });

  it('caps concurrent runs across users and frees slots when runs finish', () => {
    const limiter = new RunLimiter({ runsPerMinute: 100, dailyBudgetUsd: 10, maxConcurrentRuns: 2 });
    expect(limiter.tryStart('a')).toBeNull();
    expect(limiter.tryStart('b')).toBeNull();
    expect(limiter.tryStart('c')).toMatch(/busy with 2 runs/);
    limiter.finish('a', null);
    expect(limiter.tryStart('c')).toBeNull();
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
