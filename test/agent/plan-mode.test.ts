import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/agent/events.js';
import { executionOrder, planProblems, type PlanTask } from '../../src/agent/plan.js';
import type { ChatCompletionRequestBody, ScriptedReply } from '../fakes/openai-server.js';
import { formatOf, recorder, textOf, useHarness } from './harness.js';

const h = useHarness();

const task = (id: string, title: string, dependsOn: string[] = []): PlanTask => ({ id, title, detail: `Do: ${title}.`, dependsOn });
const planReply = (...tasks: PlanTask[]): ScriptedReply => ({ kind: 'text', content: JSON.stringify({ tasks }) });
/** The id of the task a request carries out, or null for other calls. */
const taskOf = (body: ChatCompletionRequestBody) => /Your task now \(([\w-]+)\)/.exec(textOf(body, 'user'))?.[1] ?? null;
const isSynthesis = (body: ChatCompletionRequestBody) => textOf(body, 'system').includes('write the final answer from the results');
const stages = (events: RunEvent[]) => events.flatMap((e) => (e.type === 'stage' ? [e] : []));

describe('plan mode', () => {
  it('carries out tasks after the tasks they depend on, handing each the results it needs', async () => {
    const executed: string[] = [];
    h.fake.respondWith((body) => {
      if (formatOf(body) === 'plan') {
        // Listed out of order on purpose: the report needs both, the parse needs the fetch.
        return planReply(task('report', 'Write the report', ['fetch', 'parse']), task('fetch', 'Fetch the numbers'), task('parse', 'Parse the numbers', ['fetch']));
      }
      if (isSynthesis(body)) return { kind: 'text', content: 'Final: 42 visitors, up 5%.' };
      const id = taskOf(body);
      const hasToolResult = body.messages.some((m) => m.role === 'tool');
      if (id === 'fetch' && !hasToolResult) return { kind: 'tool_calls', calls: [{ name: 'current_time', arguments: {} }] };
      if (id !== null) executed.push(id);
      return { kind: 'text', content: { fetch: 'raw: 42 visitors', parse: 'parsed: 42, +5%', report: 'report: 42 visitors, up 5%' }[id ?? ''] ?? '?' };
    });
    const { events, sink } = recorder();
    const result = await h.agent().run({ goal: 'Report on visitors', mode: 'plan', sinks: [sink] });

    expect(result).toMatchObject({ status: 'succeeded', mode: 'plan', answer: 'Final: 42 visitors, up 5%.', toolCalls: { total: 1, succeeded: 1 } });
    expect(executed).toEqual(['fetch', 'parse', 'report']);
    const requests = h.fake.chatRequests();
    const requestFor = (id: string) => requests.filter((r) => taskOf(r) === id).at(-1);
    expect(textOf(requestFor('fetch'), 'user')).not.toContain('Results of the tasks this one needs');
    expect(textOf(requestFor('parse'), 'user')).toContain('raw: 42 visitors');
    const reportRequest = textOf(requestFor('report'), 'user');
    expect(reportRequest).toContain('raw: 42 visitors');
    expect(reportRequest).toContain('parsed: 42, +5%');
    const synthesis = requests.find(isSynthesis);
    expect(textOf(synthesis, 'user')).toContain('report: 42 visitors, up 5%');
    // Tasks get no tools in the planner's call, all tools in their own.
    expect(requests[0]?.tools ?? []).toHaveLength(0);
    expect(requestFor('fetch')?.tools?.length).toBeGreaterThan(0);

    const seen = stages(events);
    expect(seen.map((s) => s.stage)).toEqual(['plan', 'task', 'task', 'task', 'synthesis']);
    expect(seen[0]?.plan?.map((t) => t.id)).toEqual(['report', 'fetch', 'parse']);
    expect(seen[1]?.title).toBe('Task 2/3: Fetch the numbers');
    expect(seen.at(-1)?.plan?.every((t) => t.status === 'done')).toBe(true);
  });

  it('replans after a failing task and carries out the new plan', async () => {
    const executed: string[] = [];
    let plans = 0;
    h.fake.respondWith((body) => {
      if (formatOf(body) === 'plan') {
        plans += 1;
        return plans === 1
          ? planReply(task('a', 'Fetch from the mirror'), task('b', 'Summarise', ['a']))
          : planReply(task('a2', 'Fetch from the origin'), task('b2', 'Summarise', ['a2']));
      }
      if (isSynthesis(body)) return { kind: 'text', content: 'Summary: all good.' };
      const id = taskOf(body) ?? '?';
      executed.push(id);
      if (id === 'a') return { kind: 'text', content: 'TASK FAILED: the mirror is down (HTTP 503).' };
      return { kind: 'text', content: `${id} done` };
    });
    const { events, sink } = recorder();
    const result = await h.agent().run({ goal: 'Summarise the release notes', mode: 'plan', sinks: [sink] });

    expect(result).toMatchObject({ status: 'succeeded', answer: 'Summary: all good.' });
    expect(executed).toEqual(['a', 'a2', 'b2']);
    const replan = h.fake.chatRequests().filter((r) => formatOf(r) === 'plan')[1];
    expect(textOf(replan, 'user')).toContain('Task a ("Fetch from the mirror") failed: the mirror is down (HTTP 503).');
    const planStages = stages(events).filter((s) => s.stage === 'plan');
    expect(planStages.map((s) => s.title)).toEqual(['Plan: 2 tasks', 'New plan (1 of 2) after task a failed']);
    expect(planStages[1]?.detail).toBe('the mirror is down (HTTP 503).');
  });

  it('keeps completed tasks across a replan and lets the new plan build on them', async () => {
    let plans = 0;
    const executed: string[] = [];
    h.fake.respondWith((body) => {
      if (formatOf(body) === 'plan') {
        plans += 1;
        return plans === 1 ? planReply(task('a', 'Collect'), task('b', 'Analyse', ['a'])) : planReply(task('c', 'Analyse differently', ['a']));
      }
      if (isSynthesis(body)) return { kind: 'text', content: 'Done.' };
      const id = taskOf(body) ?? '?';
      executed.push(id);
      if (id === 'b') return { kind: 'text', content: '**Task failed:** the data has no dates.' };
      return { kind: 'text', content: `${id} result` };
    });
    const result = await h.agent().run({ goal: 'Analyse the data', mode: 'plan' });
    expect(result.status).toBe('succeeded');
    expect(executed).toEqual(['a', 'b', 'c']);
    const replan = textOf(h.fake.chatRequests().filter((r) => formatOf(r) === 'plan')[1], 'user');
    expect(replan).toContain('a result');
    expect(replan).toContain('the data has no dates.');
    expect(textOf(h.fake.chatRequests().find((r) => taskOf(r) === 'c'), 'user')).toContain('a result');
  });

  it('fails with the reason, and still answers with what was done, when replanning is used up', async () => {
    h.fake.respondWith((body) => {
      if (formatOf(body) === 'plan') return planReply(task('t1', 'Fetch the page'));
      if (isSynthesis(body)) return { kind: 'text', content: 'I could not fetch the page: it is down.' };
      return { kind: 'text', content: 'TASK FAILED: the page is down' };
    });
    const result = await h.agent({ modes: { planReplans: 1 } }).run({ goal: 'Fetch the page', mode: 'plan' });
    expect(result).toMatchObject({ status: 'failed', answer: 'I could not fetch the page: it is down.' });
    expect(result.reason).toBe('The plan could not be completed: task t1 ("Fetch the page") failed: the page is down.');
    expect(h.fake.chatRequests().filter((r) => formatOf(r) === 'plan')).toHaveLength(2);
    expect(textOf(h.fake.chatRequests().find(isSynthesis), 'user')).toContain('Not done: task t1');
  });

  it('fails clearly when the model cannot produce a valid plan, and counts what the two tries used', async () => {
    h.fake.respondWith(() => ({ ...planReply(task('a', 'A', ['b']), task('b', 'B', ['a'])), usage: { prompt: 300, completion: 20 } }));
    const result = await h.agent().run({ goal: 'Go in circles', mode: 'plan' });
    expect(result.status).toBe('failed');
    expect(result.reason).toMatch(/^Planning failed: .*the dependencies form a cycle/);
    expect(h.fake.chatRequests()).toHaveLength(2);
    expect(result.usage).toEqual({ promptTokens: 600, completionTokens: 40 });
  });

  it('treats a task that exhausts its share of steps as failed and replans', async () => {
    let plans = 0;
    h.fake.respondWith((body) => {
      if (formatOf(body) === 'plan') {
        plans += 1;
        return plans === 1 ? planReply(task('slow', 'Keep listing'), task('x', 'Other')) : planReply(task('quick', 'Answer from memory'));
      }
      if (isSynthesis(body)) return { kind: 'text', content: 'ok' };
      if (taskOf(body) === 'slow') {
        const n = body.messages.filter((m) => m.role === 'tool').length;
        return { kind: 'tool_calls', calls: [{ name: 'list_files', arguments: { path: `dir${n}` } }] };
      }
      return { kind: 'text', content: 'quick result' };
    });
    const result = await h.agent({ limits: { maxSteps: 8 } }).run({ goal: 'List things', mode: 'plan' });
    expect(result.status).toBe('succeeded');
    // The slow task got half of the 8 steps (two tasks left), not all of them.
    expect(result.steps).toBe(5);
    expect(textOf(h.fake.chatRequests().filter((r) => formatOf(r) === 'plan')[1], 'user')).toContain('used its share of the steps');
  });
});

describe('plan validation', () => {
  it('names duplicate ids, unknown dependencies, self-dependencies and cycles', () => {
    expect(planProblems([task('a', 'A'), task('a', 'B')], new Set())).toContain('task id "a" is used twice');
    expect(planProblems([task('a', 'A', ['z'])], new Set())).toEqual(['task "a" depends on "z", which is not in the plan']);
    expect(planProblems([task('a', 'A', ['a'])], new Set())).toEqual(['task "a" depends on itself']);
    expect(planProblems([task('a', 'A', ['b']), task('b', 'B', ['a'])], new Set())).toEqual(['the dependencies form a cycle']);
    expect(planProblems([task('b', 'B', ['done1'])], new Set(['done1']))).toEqual([]);
    expect(planProblems([task('done1', 'B')], new Set(['done1']))).toEqual(['task id "done1" is already taken by a completed task']);
  });

  it('orders tasks after their dependencies, keeping plan order otherwise', () => {
    const order = executionOrder([task('c', 'C', ['a', 'b']), task('a', 'A'), task('b', 'B', ['a']), task('d', 'D')]);
    expect(order?.map((t) => t.id)).toEqual(['a', 'b', 'c', 'd']);
  });
});
