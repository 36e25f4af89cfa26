import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Agent } from '../../src/agent/agent.js';
import type { RunResult } from '../../src/agent/events.js';
import { interruptedNote, RunSuspendedError, RunSuspension } from '../../src/agent/journal.js';
import { CRASHED_TWICE, DurableRuns } from '../../src/durable/runs.js';
import { DurableRunStore, RUN_JOURNAL_TABLE, runJournalSchema } from '../../src/durable/store.js';
import { ModelCatalog } from '../../src/llm/models.js';
import { silentLogger } from '../../src/log.js';
import { withCommitRetry } from '../../src/memory/db.js';
import type { Memory } from '../../src/memory/memory.js';
import { defineTool } from '../../src/tools/define.js';
import type { ScriptedReply } from '../fakes/openai-server.js';
import { toolMessages, useHarness } from '../agent/harness.js';
import { useTempMemory } from '../memory/helpers.js';
import { forgettingRunRecords } from '../../src/runs/person-runs.js';

const h = useHarness();
const mem = useTempMemory();

const SCRIPT: ScriptedReply[] = [
  { kind: 'tool_calls', calls: [{ name: 'send', arguments: { text: 'hello' } }] },
  { kind: 'tool_calls', calls: [{ name: 'current_time', arguments: {} }] },
  { kind: 'text', content: 'Sent it.' },
];

/** A `send` with effects (not safe to repeat) that can be held in flight until the run is stopped. */
function sendTool(hold = false) {
  const sent: string[] = [];
  let started: () => void = () => undefined;
  const inFlight = new Promise<void>((resolve) => {
    started = resolve;
  });
  const tool = defineTool({
    name: 'send',
    description: 'Sends a message.',
    input: z.object({ text: z.string() }),
    risk: 'low',
    run: async ({ text }, context) => {
      sent.push(text);
      started();
      if (hold) {
        await new Promise<void>((_resolve, reject) => {
          context.signal.addEventListener('abort', () => {
            reject(new Error('aborted'));
          });
        });
      }
      return `sent ${text}`;
    },
  });
  return { tool, sent, inFlight };
}

/** The durable runs of one process on `memory`'s database: a new call stands for a restarted process. */
function process_(memory: Memory, agent: Agent): { runs: DurableRuns; store: DurableRunStore } {
  const store = new DurableRunStore((name, schema) => memory.db.table(name, schema), silentLogger());
  const models = new ModelCatalog('test-model', [], () => {
    throw new Error('no model is looked up for a run on the default model');
  }, () => undefined);
  return { runs: new DurableRuns(agent, store, models, silentLogger()), store };
}

const request = (runId: string) => ({ runId, goal: 'Send hello', scope: { userId: 'u1', channelId: 'c1' }, trigger: 'slash' as const });

/** Starts a run whose `send` is held in flight, then suspends it, as a shutdown would; the process it ran in. */
async function suspendedMidSend(memory: Memory, runId: string, options: { scope?: { userId: string; channelId: string }; surface?: unknown } = {}) {
  h.fake.reset();
  h.fake.script(...SCRIPT);
  const held = sendTool(true);
  const before = process_(memory, h.agent({ extraTools: [held.tool] }));
  const controller = new AbortController();
  const scope = options.scope ?? { userId: 'u1', channelId: 'c1' };
  const running = before.runs.run({ ...request(runId), scope, signal: controller.signal }, options.surface ?? { kind: 'test' }, () => Promise.resolve());
  await held.inFlight;
  controller.abort(new RunSuspension('restart'));
  await expect(running).rejects.toBeInstanceOf(RunSuspendedError);
  return before;
}

describe('durable runs', () => {
  it('a run that ends and is delivered leaves no record behind', async () => {
    const memory = await mem.open();
    h.fake.script(...SCRIPT);
    const { tool } = sendTool();
    const { runs } = process_(memory, h.agent({ extraTools: [tool] }));
    const delivered: RunResult[] = [];
    const result = await runs.run(request('r-ends'), { kind: 'test' }, (r) => Promise.resolve(void delivered.push(r)));
    expect(result.status).toBe('succeeded');
    expect(delivered).toHaveLength(1);
    expect(await runs.unfinished()).toEqual({ resumable: [], abandoned: [] });
  });

  it('a suspended run resumes in the next process from its journal, without repeating a call with effects', async () => {
    const memory = await mem.open();
    await suspendedMidSend(memory, 'r-suspend', { surface: { kind: 'test', where: 'c1' } });

    h.fake.reset();
    h.fake.script(...SCRIPT.slice(1));
    const again = sendTool();
    const after = process_(memory, h.agent({ extraTools: [again.tool] }));
    const { resumable, abandoned } = await after.runs.unfinished();
    expect(abandoned).toEqual([]);
    expect(resumable).toHaveLength(1);
    expect(resumable[0]?.run).toMatchObject({ runId: 'r-suspend', status: 'suspended', crashes: 0, resumes: 0, surface: { kind: 'test', where: 'c1' } });
    const delivered: RunResult[] = [];
    const result = await after.runs.resume(resumable[0] ?? expect.fail('no run'), {}, (r) => Promise.resolve(void delivered.push(r)));
    expect(result).toMatchObject({ runId: 'r-suspend', status: 'succeeded', answer: 'Sent it.', steps: 3 });
    expect(again.sent).toEqual([]);
    expect(toolMessages(h.fake.chatRequests()[0] ?? { messages: [] })).toContain(interruptedNote('send'));
    expect(delivered).toHaveLength(1);
    expect(await after.runs.unfinished()).toEqual({ resumable: [], abandoned: [] });
  });

  it('a queued run is claimed by a worker: started (not resumed) with its stored request, once; gone after it ends', async () => {
    const memory = await mem.open();
    const gateway = process_(memory, h.agent());
    await gateway.runs.enqueue(request('r-queued'), { kind: 'test', where: 'c1' });
    expect((await gateway.runs.find('r-queued'))?.status).toBe('queued');

    h.fake.reset();
    h.fake.script(...SCRIPT);
    const { tool, sent } = sendTool();
    const worker = process_(memory, h.agent({ extraTools: [tool] }));
    const claimed = await worker.runs.claim('r-queued');
    if (claimed === undefined || !('resumable' in claimed)) throw new Error('not claimable');
    expect(claimed.resumable).toMatchObject({ run: { status: 'queued', crashes: 0, surface: { kind: 'test', where: 'c1' } }, entries: [] });
    const events: string[] = [];
    const result = await worker.runs.resume(claimed.resumable, { sinks: [(e) => void events.push(e.type)] }, () => Promise.resolve());
    expect(result).toMatchObject({ status: 'succeeded', answer: 'Sent it.' });
    expect(sent).toEqual(['hello']);
    expect(events).not.toContain('resumed');
    // A job delivered again after the run ended finds nothing to do.
    expect(await worker.runs.claim('r-queued')).toBeUndefined();
  });

  it('a queued run a worker died in is resumed by the next with one crash counted, and ended at the second', async () => {
    const memory = await mem.open();
    const first = await suspendedMidSend(memory, 'r-dies');
    const [taken] = (await first.runs.unfinished()).resumable;
    // The worker died while running it: its record says running.
    await first.store.save({ ...(taken ?? expect.fail('no run')).run, status: 'running', crashes: 0 });
    const next = process_(memory, h.agent());
    const again = await next.runs.claim('r-dies');
    expect(again !== undefined && 'resumable' in again ? again.resumable.run.crashes : null).toBe(1);
    await next.store.save({ ...(again !== undefined && 'resumable' in again ? again.resumable.run : expect.fail('no run')), status: 'running' });
    const last = await process_(memory, h.agent()).runs.claim('r-dies');
    expect(last !== undefined && 'abandoned' in last ? last.abandoned.reason : null).toBe(CRASHED_TWICE);
  });

  it('counts a run its process died in as a crash, and ends it at the second crash in a row', async () => {
    const memory = await mem.open();
    const before = await suspendedMidSend(memory, 'r-crash');
    // A crash leaves the run "running" (no suspension was recorded).
    const [suspended] = (await before.runs.unfinished()).resumable;
    await before.store.save({ ...(suspended ?? expect.fail('no run')).run, status: 'running', crashes: 0 });

    const second = process_(memory, h.agent({ extraTools: [sendTool(true).tool] }));
    const crashed = await second.runs.unfinished();
    expect(crashed.resumable.map((r) => r.run.crashes)).toEqual([1]);
    // It dies again before making progress: the next start gives up on it, saying why.
    await second.store.save({ ...(crashed.resumable[0] ?? expect.fail('no run')).run, status: 'running' });
    const third = process_(memory, h.agent());
    const { resumable, abandoned } = await third.runs.unfinished();
    expect(resumable).toEqual([]);
    expect(abandoned.map((a) => ({ runId: a.run.runId, crashes: a.run.crashes, reason: a.reason }))).toEqual([{ runId: 'r-crash', crashes: 2, reason: CRASHED_TWICE }]);
    expect(await third.runs.unfinished()).toEqual({ resumable: [], abandoned: [] });
  });

  it('a run stopped because another worker has it now leaves its record as that worker writes it', async () => {
    const memory = await mem.open();
    h.fake.script(...SCRIPT);
    const held = sendTool(true);
    const { runs, store } = process_(memory, h.agent({ extraTools: [held.tool] }));
    const controller = new AbortController();
    const running = runs.run({ ...request('r-taken'), scope: { userId: 'u1', channelId: 'c1' }, signal: controller.signal }, { kind: 'test' }, () => Promise.resolve());
    await held.inFlight;
    controller.abort(new RunSuspension('another worker took the run over', true));
    await expect(running).rejects.toBeInstanceOf(RunSuspendedError);
    // Still 'running' (the other worker's), not 'suspended' by this one.
    expect((await store.get('r-taken'))?.status).toBe('running');
  });

  it('progress after a resume clears the crash count', async () => {
    const memory = await mem.open();
    const before = await suspendedMidSend(memory, 'r-progress');
    const [left] = (await before.runs.unfinished()).resumable;
    await before.store.save({ ...(left ?? expect.fail('no run')).run, status: 'running' });

    // Resumed after the crash; it records its next step, then the process dies again mid-run.
    h.fake.reset();
    // (current_time is safe to repeat: its call and outcome are written with the next model reply.)
    h.fake.script(...SCRIPT.slice(1, 2), { kind: 'tool_calls', calls: [{ name: 'current_time', arguments: { timezone: 'Asia/Tokyo' } }] }, { kind: 'hang' });
    const second = process_(memory, h.agent({ extraTools: [sendTool().tool] }));
    const [crashed] = (await second.runs.unfinished()).resumable;
    expect(crashed?.run.crashes).toBe(1);
    const stop = new AbortController();
    const resumed = second.runs.resume(crashed ?? expect.fail('no run'), { signal: stop.signal }, () => Promise.resolve());
    // Progress: the next step's tool call and its outcome are recorded.
    await expect.poll(async () => (await second.store.entries('r-progress')).filter((e) => e.kind === 'tool').length, { timeout: 5_000 }).toBe(2);
    await expect.poll(async () => (await second.store.unfinished())[0]?.crashes, { timeout: 5_000 }).toBe(0);
    stop.abort(new RunSuspension('stand-in for a crash'));
    await expect(resumed).rejects.toBeInstanceOf(RunSuspendedError);
    const [again] = await second.store.unfinished();
    await second.store.save({ ...(again ?? expect.fail('no run')), status: 'running' });
    const third = process_(memory, h.agent());
    const { resumable, abandoned } = await third.runs.unfinished();
    expect(abandoned).toEqual([]);
    expect(resumable.map((r) => r.run.crashes)).toEqual([1]);
  });

  it('delivers again a run whose process died after it finished but before its answer was posted', async () => {
    const memory = await mem.open();
    h.fake.script(...SCRIPT);
    const before = process_(memory, h.agent({ extraTools: [sendTool().tool] }));
    // Delivery never completes: the process "dies" while posting.
    void before.runs.run(request('r-deliver'), { kind: 'test' }, () => new Promise<void>(() => undefined));
    await expect.poll(async () => (await before.store.entries('r-deliver')).filter((e) => e.kind === 'model').length, { timeout: 5_000 }).toBe(3);

    h.fake.reset();
    const again = sendTool();
    const after = process_(memory, h.agent({ extraTools: [again.tool] }));
    const { resumable } = await after.runs.unfinished();
    const delivered: RunResult[] = [];
    const result = await after.runs.resume(resumable.find((r) => r.run.runId === 'r-deliver') ?? expect.fail('no run'), {}, (r) => Promise.resolve(void delivered.push(r)));
    expect(result).toMatchObject({ status: 'succeeded', answer: 'Sent it.' });
    expect(delivered).toHaveLength(1);
    expect(h.fake.chatRequests()).toHaveLength(0);
    expect(again.sent).toEqual([]);
  });

  it('an end cut short between its two deletes is never run again from nothing; its journal is swept at a later start once old', async () => {
    const memory = await mem.open();
    h.fake.script(...SCRIPT);
    // The process dies after the record went and before the journal did: its journal delete never lands.
    const dying = new DurableRunStore(async (name, schema) => {
      const table = await memory.db.table(name, schema);
      if (name !== RUN_JOURNAL_TABLE) return table;
      return new Proxy(table, { get: (target, key) => (key === 'delete' ? () => Promise.reject(new Error('the process died')) : (Reflect.get(target, key, target) as unknown)) });
    }, silentLogger());
    const models = new ModelCatalog('test-model', [], () => {
      throw new Error('no model is looked up');
    }, () => undefined);
    const { tool } = sendTool();
    const result = await new DurableRuns(h.agent({ extraTools: [tool] }), dying, models, silentLogger()).run(request('r-cut'), { kind: 'test' }, () => Promise.resolve());
    expect(result.status).toBe('succeeded');
    const journal = await memory.db.table(RUN_JOURNAL_TABLE, runJournalSchema);
    const left = () => journal.countRows(`run_id = 'r-cut'`);
    expect(await left()).toBeGreaterThan(0);

    // The next start resumes nothing; a young journal is left (a run may be starting elsewhere).
    h.fake.reset();
    expect(await process_(memory, h.agent()).runs.unfinished()).toEqual({ resumable: [], abandoned: [] });
    expect(await left()).toBeGreaterThan(0);
    // A start two hours on sweeps it.
    const later = new DurableRunStore((name, schema) => memory.db.table(name, schema), silentLogger(), () => Date.now() + 2 * 3_600_000);
    expect(await new DurableRuns(h.agent(), later, models, silentLogger()).unfinished()).toEqual({ resumable: [], abandoned: [] });
    expect(await left()).toBe(0);
    expect(h.fake.chatRequests()).toHaveLength(0);
  });

  it('forgetting a person forgets their unfinished runs: records and journals, not resumed; others stay', async () => {
    const memory = await mem.open();
    const { runs, store } = process_(memory, h.agent());
    for (const userId of ['u1', 'u2']) await suspendedMidSend(memory, `r-${userId}`, { scope: { userId, channelId: 'c1' } });
    const forgets = forgettingRunRecords({ turnsOf: async function* () {}, forgetUser: () => Promise.resolve(0) }, { forgetUser: () => Promise.resolve(0), recordsOf: () => Promise.resolve([]) }, silentLogger(), store);
    await forgets.forgetUser('u1');
    const { resumable } = await runs.unfinished();
    expect(resumable.map((r) => r.run.runId)).toEqual(['r-u2']);
    expect(await store.entries('r-u1')).toEqual([]);
    expect((await store.entries('r-u2')).length).toBeGreaterThan(0);
  });

  it('gives up, with a reason, on a run whose journal cannot be read back', async () => {
    const memory = await mem.open();
    await suspendedMidSend(memory, 'r-broken');
    const journal = await memory.db.table(RUN_JOURNAL_TABLE, runJournalSchema);
    await withCommitRetry(journal, () => journal.update({ where: 'seq = 2', values: { entry: '{"kind":"model","response":' } }));

    const after = process_(memory, h.agent());
    const { resumable, abandoned } = await after.runs.unfinished();
    expect(resumable).toEqual([]);
    expect(abandoned[0]?.reason).toMatch(/could not be read back after the restart/);
  });
});
