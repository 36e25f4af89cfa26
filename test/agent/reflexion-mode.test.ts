import { describe, expect, it } from 'vitest';
import type { ChatCompletionRequestBody, ScriptedReply } from '../fakes/openai-server.js';
import { formatOf, recorder, textOf, useHarness } from './harness.js';

const h = useHarness();

const verdict = (met: boolean, missing = ''): ScriptedReply => ({ kind: 'text', content: JSON.stringify({ met, missing }) });
const reflection = (whatWentWrong: string, nextTime: string): ScriptedReply => ({ kind: 'text', content: JSON.stringify({ whatWentWrong, nextTime }) });
const isAttempt = (body: ChatCompletionRequestBody) => formatOf(body) === null;

describe('reflexion mode', () => {
  it('stops at its attempt limit, reflecting between attempts and showing each one', async () => {
    let attempt = 0;
    h.fake.respondWith((body) => {
      const format = formatOf(body);
      if (format === 'completion_check') return verdict(false, 'No sources are cited.');
      if (format === 'attempt_reflection') return reflection('The answer cited nothing.', 'Cite at least two sources by URL.');
      attempt += 1;
      return { kind: 'text', content: `Answer ${attempt} without sources.` };
    });
    const { events, sink } = recorder();
    const result = await h.agent({ modes: { reflexionAttempts: 3 } }).run({ goal: 'Summarise the paper with sources', mode: 'reflexion', sinks: [sink] });

    expect(result).toMatchObject({ status: 'stopped', limit: 'attempts', mode: 'reflexion', answer: 'Answer 3 without sources.' });
    expect(result.reason).toBe('Stopped: 3 attempts did not meet the goal (last check: No sources are cited.).');
    const requests = h.fake.chatRequests();
    expect(requests.filter(isAttempt)).toHaveLength(3);
    expect(requests.filter((r) => formatOf(r) === 'completion_check')).toHaveLength(3);
    expect(requests.filter((r) => formatOf(r) === 'attempt_reflection')).toHaveLength(2);
    // Each retry carries the reflections so far; the first attempt carries none.
    const attempts = requests.filter(isAttempt).map((r) => textOf(r, 'system'));
    expect(attempts[0]).not.toContain('Reflections on them');
    expect(attempts[1]).toContain('Attempt 1: The answer cited nothing. Next time: Cite at least two sources by URL.');
    expect(attempts[2]).toContain('Attempt 2: The answer cited nothing.');

    const stages = events.flatMap((e) => (e.type === 'stage' ? [`${e.stage}: ${e.title}`] : []));
    expect(stages).toEqual([
      'attempt: Attempt 1 of 3',
      'evaluation: Goal not met yet',
      'reflection: Reflection on attempt 1',
      'attempt: Attempt 2 of 3',
      'evaluation: Goal not met yet',
      'reflection: Reflection on attempt 2',
      'attempt: Attempt 3 of 3',
      'evaluation: Goal not met yet',
    ]);
    expect(events.filter((e) => e.type === 'limit')).toMatchObject([{ limit: 'attempts' }]);
  });

  it('succeeds as soon as an attempt meets the goal', async () => {
    let checks = 0;
    h.fake.respondWith((body) => {
      const format = formatOf(body);
      if (format === 'completion_check') return (checks += 1) === 1 ? verdict(false, 'Tokyo is missing.') : verdict(true);
      if (format === 'attempt_reflection') return reflection('Only Oslo was given.', 'Give both cities.');
      return { kind: 'text', content: textOf(body, 'system').includes('Give both cities.') ? 'Oslo UTC+1, Tokyo UTC+9.' : 'Oslo UTC+1.' };
    });
    const result = await h.agent().run({ goal: 'UTC offsets of Oslo and Tokyo', mode: 'reflexion' });
    expect(result).toMatchObject({ status: 'succeeded', answer: 'Oslo UTC+1, Tokyo UTC+9.', steps: 2 });
  });

  it('gives each attempt a share of the steps, so a stuck attempt leaves room for the next', async () => {
    h.fake.respondWith((body) => {
      const format = formatOf(body);
      if (format === 'completion_check') return verdict(true);
      if (format === 'attempt_reflection') return reflection('It kept listing directories.', 'Answer directly.');
      if (textOf(body, 'system').includes('Answer directly.')) return { kind: 'text', content: 'Direct answer.' };
      const n = body.messages.filter((m) => m.role === 'tool').length;
      return { kind: 'tool_calls', calls: [{ name: 'list_files', arguments: { path: `dir${n}` } }] };
    });
    const result = await h.agent({ limits: { maxSteps: 9 }, modes: { reflexionAttempts: 3 } }).run({ goal: 'Say something', mode: 'reflexion' });
    expect(result).toMatchObject({ status: 'succeeded', answer: 'Direct answer.' });
    // Attempt 1 may use 3 of the 9 steps; attempt 2 answers at once.
    expect(result.steps).toBe(4);
  });

  it('retries with the check result alone when the reflection cannot be had', async () => {
    let checks = 0;
    h.fake.respondWith((body) => {
      const format = formatOf(body);
      if (format === 'completion_check') return (checks += 1) === 1 ? verdict(false, 'The total is wrong.') : verdict(true);
      if (format === 'attempt_reflection') return { kind: 'text', content: 'not json at all' };
      return { kind: 'text', content: 'Total: 12.' };
    });
    const result = await h.agent().run({ goal: 'Add the numbers', mode: 'reflexion' });
    expect(result.status).toBe('succeeded');
    const retry = h.fake.chatRequests().filter(isAttempt)[1];
    expect(textOf(retry, 'system')).toContain('Attempt 1: The total is wrong.');
  });
});
