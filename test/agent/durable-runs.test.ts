import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Approver } from '../../src/agent/approval.js';
import { interruptedNote, RunSuspendedError, RunSuspension, type JournalEntry, type RunJournal } from '../../src/agent/journal.js';
import { defineTool } from '../../src/tools/define.js';
import type { Tool } from '../../src/tools/types.js';
import type { ScriptedReply } from '../fakes/openai-server.js';
import { recorder, toolMessages, useHarness } from './harness.js';

const h = useHarness();

/** A journal in memory: what a store would keep, and what a restarted process would read back. */
function memoryJournal(recorded: JournalEntry[] = []): RunJournal & { entries: JournalEntry[] } {
  const entries = [...recorded];
  return { recorded, entries, append: (added) => Promise.resolve(void entries.push(...structuredClone(added))) };
}

/** Tools that count their runs: `send` has effects (not safe to repeat), `lookup` only reads. */
function countingTools(options: { slowSend?: { started: () => void } } = {}) {
  const runs = { send: 0, lookup: 0 };
  const send = defineTool({
    name: 'send',
    description: 'Sends a message.',
    input: z.object({ text: z.string() }),
    risk: 'low',
    run: async ({ text }, context) => {
      runs.send += 1;
      if (options.slowSend !== undefined) {
        options.slowSend.started();
        await new Promise((resolve, reject) => {
          const timer = setTimeout(resolve, 10_000);
          context.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(new Error('aborted'));
          });
        });
      }
      return `sent ${text}`;
    },
  });
  const lookup = defineTool({
    name: 'lookup',
    description: 'Looks a word up.',
    input: z.object({ word: z.string() }),
    risk: 'low',
    idempotent: true,
    run: ({ word }) => {
      runs.lookup += 1;
      return Promise.resolve(`${word} means something`);
    },
  });
  return { runs, tools: [send, lookup] as Tool[] };
}

/** A structured reply (plan, verdict, reflection) as the model writes it. */
const json = (value: unknown): ScriptedReply => ({ kind: 'text', content: JSON.stringify(value) });

const SCRIPT: ScriptedReply[] = [
  { kind: 'tool_calls', calls: [{ name: 'lookup', arguments: { word: 'cairn' } }] },
  { kind: 'tool_calls', calls: [{ name: 'send', arguments: { text: 'hello' } }] },
  { kind: 'tool_calls', calls: [{ name: 'lookup', arguments: { word: 'tor' } }] },
  { kind: 'text', content: 'Sent, and looked both up.' },
];

describe('durable runs: journal and replay', () => {
  it('records every effect, and a run resumed from any point ends as it would have, redoing only what was left', async () => {
    const whole = countingTools();
    h.fake.script(...SCRIPT);
    const journal = memoryJournal();
    const first = await h.agent({ extraTools: whole.tools }).run({ goal: 'Send hello', runId: 'r-whole', journal });
    expect(first).toMatchObject({ status: 'succeeded', answer: 'Sent, and looked both up.', steps: 4, toolCalls: { total: 3, succeeded: 3 } });
    expect(journal.entries.map((e) => e.kind)).toEqual(['files', 'memory', 'model', 'tool_started', 'tool', 'model', 'tool_started', 'tool', 'model', 'tool_started', 'tool', 'model']);

    // A crash after each entry: the journal holds the first `kept`, a new process resumes it.
    for (let kept = 0; kept <= journal.entries.length; kept++) {
      const recorded = journal.entries.slice(0, kept);
      const modelCallsBefore = recorded.filter((e) => e.kind === 'model').length;
      h.fake.reset();
      h.fake.script(...SCRIPT.slice(modelCallsBefore));
      const again = countingTools();
      const resumedJournal = memoryJournal(recorded);
      const { events, sink } = recorder();
      const result = await h.agent({ extraTools: again.tools }).run({ goal: 'Send hello', runId: `r-${kept}`, journal: resumedJournal, sinks: [sink], resumed: { startedAt: new Date(first.startedAt), resumes: 1 } });
      const last = recorded.at(-1);
      const diedInSend = last?.kind === 'tool_started' && last.tool === 'send';
      expect(result.status, `crash after entry ${kept}`).toBe('succeeded');
      expect(result.steps).toBe(4);
      expect(result.toolCalls.total).toBe(3);
      // Only the model calls not in the journal are made again.
      expect(h.fake.chatRequests()).toHaveLength(4 - modelCallsBefore);
      // `send` runs again only if it never started; a `send` the process died in is never repeated.
      const sendStarted = recorded.some((e) => e.kind === 'tool_started' && e.tool === 'send');
      expect(again.runs.send, `crash after entry ${kept}`).toBe(sendStarted ? 0 : 1);
      if (diedInSend) {
        expect(result.toolCalls.succeeded).toBe(2);
        expect(toolMessages(h.fake.chatRequests()[0] ?? { messages: [] })).toContain(interruptedNote('send'));
      }
      // Replayed events are marked; a resumed run says where it went on from.
      const resumed = events.find((e) => e.type === 'resumed');
      if (kept === 0) expect(resumed).toBeUndefined();
      else expect(resumed).toMatchObject({ step: modelCallsBefore, resumes: 1 });
      // Shown before the restart once memory was recalled (the journal's second entry).
      expect(events.find((e) => e.type === 'started')?.replayed).toBe(kept >= 2 ? true : undefined);
      expect(events.filter((e) => e.type === 'final' && e.replayed === true)).toEqual([]);
    }
  });

  it('runs again a read-only call the process died in, and not a call with effects', async () => {
    h.fake.script(...SCRIPT);
    const journal = memoryJournal();
    await h.agent({ extraTools: countingTools().tools }).run({ goal: 'Send hello', journal });
    const lookupStarted = journal.entries.findIndex((e) => e.kind === 'tool_started');
    h.fake.reset();
    h.fake.script(...SCRIPT.slice(1));
    const again = countingTools();
    const result = await h.agent({ extraTools: again.tools }).run({ goal: 'Send hello', journal: memoryJournal(journal.entries.slice(0, lookupStarted + 1)) });
    expect(result.status).toBe('succeeded');
    expect(again.runs).toEqual({ lookup: 2, send: 1 });
    expect(toolMessages(h.fake.chatRequests()[0] ?? { messages: [] })).toEqual(['cairn means something']);
  });

  it('writes a read-only call with the next model reply (one write a step), and a call with effects before and after it runs', async () => {
    h.fake.script(...SCRIPT);
    const writes: JournalEntry['kind'][][] = [];
    const journal = memoryJournal();
    const counted: RunJournal = { recorded: [], append: (added) => (writes.push(added.map((e) => e.kind)), journal.append(added)) };
    await h.agent({ extraTools: countingTools().tools }).run({ goal: 'Send hello', journal: counted });
    expect(writes).toEqual([
      // What the run took in (its files, its recall) goes with the first reply.
      ['files', 'memory', 'model'],
      // The lookup's start and outcome go with the next reply; the send is on disk before it runs.
      ['tool_started', 'tool', 'model'],
      ['tool_started'],
      ['tool'],
      ['model'],
      ['tool_started', 'tool', 'model'],
    ]);
  });

  it('a suspension stops the run where it is without ending it; the resumed run reports the cut-short call as interrupted', async () => {
    let sendStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      sendStarted = resolve;
    });
    const slow = countingTools({ slowSend: { started: () => { sendStarted(); } } });
    h.fake.script(...SCRIPT);
    const journal = memoryJournal();
    const controller = new AbortController();
    const running = h.agent({ extraTools: slow.tools }).run({ goal: 'Send hello', journal, signal: controller.signal });
    await started;
    controller.abort(new RunSuspension('Cairn is restarting'));
    await expect(running).rejects.toBeInstanceOf(RunSuspendedError);
    // The call was cut short: recorded as started, not as finished.
    expect(journal.entries.at(-1)).toMatchObject({ kind: 'tool_started', tool: 'send' });

    h.fake.reset();
    h.fake.script(...SCRIPT.slice(2));
    const again = countingTools();
    const result = await h.agent({ extraTools: again.tools }).run({ goal: 'Send hello', journal: memoryJournal(journal.entries) });
    expect(result).toMatchObject({ status: 'succeeded', steps: 4, toolCalls: { total: 3, succeeded: 2 } });
    expect(again.runs.send).toBe(0);
    expect(toolMessages(h.fake.chatRequests()[0] ?? { messages: [] })).toContain(interruptedNote('send'));
  });

  it('replays a decided approval without asking again, and asks again for one the restart cut short', async () => {
    const deploy = defineTool({ name: 'deploy', description: 'Deploys.', input: z.object({}), risk: 'high', run: () => Promise.resolve('deployed') });
    const script: ScriptedReply[] = [{ kind: 'tool_calls', calls: [{ name: 'deploy', arguments: {} }] }, { kind: 'text', content: 'Deployed.' }];
    h.fake.script(...script);
    const journal = memoryJournal();
    await h.agent({ extraTools: [deploy] }).run({ goal: 'Deploy', journal, approver: () => Promise.resolve({ outcome: 'approved', by: 'ada' }) });
    expect(journal.entries.map((e) => e.kind)).toContain('approval');

    // Crashed after the approval, before the call: the decision stands, nobody is asked again.
    const afterApproval = journal.entries.findIndex((e) => e.kind === 'approval') + 1;
    h.fake.reset();
    h.fake.script(...script.slice(1));
    let asked = 0;
    const counting: Approver = () => {
      asked += 1;
      return Promise.resolve({ outcome: 'denied', by: 'bob' });
    };
    const replayed = await h.agent({ extraTools: [deploy] }).run({ goal: 'Deploy', journal: memoryJournal(journal.entries.slice(0, afterApproval)), approver: counting });
    expect(asked).toBe(0);
    expect(replayed.toolCalls).toEqual({ total: 1, succeeded: 1 });

    // Crashed while waiting for the person: asked again.
    const waiting = journal.entries.slice(0, afterApproval - 1);
    h.fake.reset();
    h.fake.script(...script.slice(1));
    const askedAgain = await h.agent({ extraTools: [deploy] }).run({ goal: 'Deploy', journal: memoryJournal(waiting), approver: counting });
    expect(asked).toBe(1);
    expect(askedAgain.toolCalls).toEqual({ total: 1, succeeded: 0 });
  });

  it('resumes plan-and-execute and reflexion runs mid-way to the same end', async () => {
    for (const mode of ['plan', 'reflexion'] as const) {
      const replies: ScriptedReply[] =
        mode === 'plan'
          ? [
              json({ tasks: [{ id: 't1', title: 'Look it up', detail: 'Look up cairn.', dependsOn: [] }, { id: 't2', title: 'Send it', detail: 'Send the meaning.', dependsOn: ['t1'] }] }),
              { kind: 'tool_calls', calls: [{ name: 'lookup', arguments: { word: 'cairn' } }] },
              { kind: 'text', content: 'It means a pile of stones.' },
              { kind: 'tool_calls', calls: [{ name: 'send', arguments: { text: 'stones' } }] },
              { kind: 'text', content: 'Sent.' },
              { kind: 'text', content: 'Looked up and sent.' },
            ]
          : [
              { kind: 'text', content: 'First try.' },
              json({ met: false, missing: 'nothing was sent' }),
              json({ whatWentWrong: 'no send', nextTime: 'call send' }),
              { kind: 'tool_calls', calls: [{ name: 'send', arguments: { text: 'hi' } }] },
              { kind: 'text', content: 'Sent it.' },
              json({ met: true, missing: '' }),
            ];
      h.fake.reset();
      h.fake.script(...replies);
      const journal = memoryJournal();
      const first = await h.agent({ extraTools: countingTools().tools }).run({ goal: 'Send it', mode, journal });
      expect(first.status, mode).toBe('succeeded');
      for (let kept = 1; kept < journal.entries.length; kept++) {
        const recorded = journal.entries.slice(0, kept);
        h.fake.reset();
        h.fake.script(...replies.slice(recorded.filter((e) => e.kind === 'model').length));
        const { events, sink } = recorder();
        const again = await h.agent({ extraTools: countingTools().tools }).run({ goal: 'Send it', mode, journal: memoryJournal(recorded), sinks: [sink] });
        expect({ status: again.status, answer: again.answer, steps: again.steps }, `${mode}, crash after entry ${kept}`).toEqual({ status: first.status, answer: first.answer, steps: first.steps });
        // A stage shown before the restart is not shown again.
        const stages = events.filter((e) => e.type === 'stage' && e.replayed !== true).map((e) => (e.type === 'stage' ? e.title : ''));
        expect(new Set(stages).size, `${mode}, crash after entry ${kept}`).toBe(stages.length);
      }
    }
  });

  it('stops with a clear reason when the journal does not match the run (a deploy changed its path)', async () => {
    h.fake.script(...SCRIPT);
    const journal = memoryJournal();
    await h.agent({ extraTools: countingTools().tools }).run({ goal: 'Send hello', journal });
    // The recorded call's id no longer matches what the model asked for.
    const tampered = journal.entries.slice(0, 5).map((e) => (e.kind === 'tool_started' || e.kind === 'tool' ? { ...e, callId: 'other' } : e));
    h.fake.reset();
    h.fake.script(...SCRIPT.slice(1));
    const result = await h.agent({ extraTools: countingTools().tools }).run({ goal: 'Send hello', journal: memoryJournal(tampered) });
    expect(result.status).toBe('stopped');
    expect(result.reason).toMatch(/recorded by a different version of Cairn and cannot be resumed/);
  });

  it('a resumed run keeps the time it had used: its clock goes on from the journal', async () => {
    h.fake.script(...SCRIPT);
    const journal = memoryJournal();
    await h.agent({ extraTools: countingTools().tools }).run({ goal: 'Send hello', journal });
    const recorded = journal.entries.slice(0, 6).map((e) => ({ ...e, elapsedMs: 19_990 }));
    h.fake.reset();
    h.fake.respondWith(() => ({ kind: 'text', content: 'late', delayMs: 500 }));
    const result = await h.agent({ limits: { maxDurationMs: 20_000 } }).run({ goal: 'Send hello', journal: memoryJournal(recorded) });
    expect(result).toMatchObject({ status: 'stopped', limit: 'time' });
  });
});
