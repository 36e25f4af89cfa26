import { describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../../src/agent/approval.js';
import { RunSignal } from '../../src/agent/run-signal.js';
import { RunSuspension } from '../../src/agent/journal.js';
import { approvalKey, PendingApprovalStore } from '../../src/durable/approvals.js';
import { PendingApprovals, type PostRequest } from '../../src/discord/approvals.js';
import { silentLogger } from '../../src/log.js';
import { useTempMemory } from '../memory/helpers.js';

const mem = useTempMemory();

const REQUEST: ApprovalRequest = { runId: 'r1', step: 1, callId: 'call_1', tool: 'write_file', arguments: '{}', risk: 'medium', timeoutMs: 60_000 };

/** A poster that records what it posted and what was edited. */
function poster() {
  const posted: string[] = [];
  const edits: string[] = [];
  const post: PostRequest = (payload) => {
    posted.push(payload.content);
    return Promise.resolve({ ref: { channelId: 'c1', messageId: `m${posted.length}` }, edit: (content) => Promise.resolve(void edits.push(content)) });
  };
  return { post, posted, edits };
}

async function stores() {
  const memory = await mem.open();
  return () => new PendingApprovalStore((name, schema) => memory.db.table(name, schema), silentLogger());
}

describe('approval requests across a restart', () => {
  it('a request a shutdown cut short stays open; the resumed run waits on it without posting again, and takes a press kept meanwhile', async () => {
    const open = await stores();
    const before = poster();
    const first = new PendingApprovals({ store: open() });
    const caller = new AbortController();
    const signal = new RunSignal(caller.signal);
    const asking = first.approverFor('alice', 'r1', before.post, () => undefined)(REQUEST, signal.signal);
    await expect.poll(async () => (await open().byKey(approvalKey('r1', 'call_1')))?.posted.sent).toBe(true);
    caller.abort(new RunSuspension('restarting'));
    expect(await asking).toEqual({ outcome: 'denied', by: null });
    // Not told "stopped": it is still open.
    expect(before.edits).toEqual([]);
    const kept = await open().byKey(approvalKey('r1', 'call_1'));
    expect(kept).toMatchObject({ starterId: 'alice', tool: 'write_file', posted: { sent: true, ref: { channelId: 'c1', messageId: 'm1' } }, decision: null });

    // The starter presses while no process waits (the bot is starting): the press is kept.
    expect(await open().decide(approvalKey('r1', 'call_1'), { outcome: 'approved', by: 'alice' })).toBe(true);
    const after = poster();
    const second = new PendingApprovals({ store: open() });
    const decision = await second.approverFor('alice', 'r1', after.post, () => undefined)(REQUEST, new AbortController().signal);
    expect(decision).toEqual({ outcome: 'approved', by: 'alice' });
    expect(after.posted).toEqual([]);
    // Decided: it is gone.
    expect(await open().byKey(approvalKey('r1', 'call_1'))).toBeUndefined();
  });

  it('keeps the deadline it had: a resumed request past it times out at once and says so where it was posted', async () => {
    const open = await stores();
    const store = open();
    await store.save({ key: approvalKey('r2', 'call_1'), token: 't', runId: 'r2', starterId: 'alice', tool: 'write_file', deadline: Date.now() - 1, posted: { sent: true, ref: { channelId: 'c1', messageId: 'm9' } }, decision: null });
    const edits: string[] = [];
    const approvals = new PendingApprovals({ store: open(), reopen: (ref) => ({ ref, edit: (content) => Promise.resolve(void edits.push(`${ref.messageId}: ${content}`)) }) });
    const after = poster();
    const decision = await approvals.approverFor('alice', 'r2', after.post, () => undefined)({ ...REQUEST, runId: 'r2' }, new AbortController().signal);
    expect(decision).toEqual({ outcome: 'timed_out', by: null });
    expect(after.posted).toEqual([]);
    expect(edits).toEqual([expect.stringMatching(/^m9: .*No answer within 60 s: not run\.$/s)]);
  });

  it('posts again, with the same buttons, a request the process died before posting', async () => {
    const open = await stores();
    await open().save({ key: approvalKey('r3', 'call_1'), token: 'same-token', runId: 'r3', starterId: 'alice', tool: 'write_file', deadline: Date.now() + 60_000, posted: { sent: false, ref: null }, decision: null });
    const after = poster();
    const payloads: string[] = [];
    const approvals = new PendingApprovals({ store: open() });
    const controller = new AbortController();
    const asking = approvals.approverFor('alice', 'r3', async (payload) => {
      payloads.push(JSON.stringify(payload.components.map((row) => row.toJSON())));
      return after.post(payload);
    }, () => undefined)({ ...REQUEST, runId: 'r3' }, controller.signal);
    await expect.poll(() => payloads.length).toBe(1);
    expect(payloads[0]).toContain('same-token');
    controller.abort();
    expect(await asking).toEqual({ outcome: 'denied', by: null });
  });
});
