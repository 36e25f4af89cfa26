import { describe, expect, it } from 'vitest';
import { useHarness } from './harness.js';

const h = useHarness();
const verdict = (met: boolean, missing = '') => ({ kind: 'text' as const, content: JSON.stringify({ met, missing }) });

describe('completion check', () => {
  it('sends the agent back when the answer does not meet the goal, then accepts a complete one', async () => {
    h.fake.script(
      { kind: 'text', content: 'Oslo is 1 hour ahead of UTC.' },
      verdict(false, 'The goal also asked for Tokyo.'),
      { kind: 'text', content: 'Oslo is UTC+1 and Tokyo is UTC+9.' },
      verdict(true),
    );
    const result = await h.agent({ completionCheck: true }).run({ goal: 'Give the UTC offsets of Oslo and Tokyo.' });
    expect(result).toMatchObject({ status: 'succeeded', answer: 'Oslo is UTC+1 and Tokyo is UTC+9.', steps: 2 });
    const requests = h.fake.chatRequests();
    expect(requests[1]?.response_format).toMatchObject({ type: 'json_schema' });
    expect(JSON.stringify(requests[1]?.messages)).toContain('Oslo is 1 hour ahead of UTC.');
    expect(JSON.stringify(requests[2]?.messages.at(-1))).toContain('The goal also asked for Tokyo.');
    // The checks' tokens are part of the run's usage.
    expect(result.usage.promptTokens).toBeGreaterThan(0);
  });

  it('stops, saying why, when the answer keeps failing the check', async () => {
    h.fake.script(
      { kind: 'text', content: 'Answer 1' },
      verdict(false, 'No sources cited.'),
      { kind: 'text', content: 'Answer 2' },
      verdict(false, 'No sources cited.'),
      { kind: 'text', content: 'Answer 3' },
      verdict(false, 'Still no sources.'),
    );
    const result = await h.agent({ completionCheck: true }).run({ goal: 'Summarise the paper with sources.' });
    expect(result).toMatchObject({ status: 'stopped', answer: 'Answer 3' });
    expect(result.reason).toMatch(/completion check found the goal not met \(Still no sources\.\)/);
  });

  it('accepts the answer when the check itself cannot run', async () => {
    h.fake.script({ kind: 'text', content: 'Done.' }, { kind: 'error', status: 500, message: 'boom' }, { kind: 'error', status: 500, message: 'boom' }, { kind: 'error', status: 500, message: 'boom' });
    const result = await h.agent({ completionCheck: true }).run({ goal: 'Say done.' });
    expect(result).toMatchObject({ status: 'succeeded', answer: 'Done.' });
  });
});
