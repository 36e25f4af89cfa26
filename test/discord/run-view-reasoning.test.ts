import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/agent/events.js';
import { RunView, type StepFile } from '../../src/discord/run-view.js';

const base = { runId: 'r1', elapsedMs: 1000 };
const started: RunEvent = { ...base, type: 'started', goal: 'What time is it?', mode: 'react', model: 'm', maxSteps: 10, workspaceDir: '/tmp/w', memory: null };
const step = (n: number, reasoning: string | null, thinking: boolean, decision: 'tool_calls' | 'final' = 'tool_calls'): RunEvent => ({
  ...base,
  type: 'step',
  step: n,
  maxSteps: 10,
  decision,
  reasoning,
  thinking,
  toolNames: decision === 'final' ? [] : ['current_time'],
  usage: { promptTokens: 10, completionTokens: 5 },
  costUsd: null,
});
const final: RunEvent = {
  ...base,
  type: 'final',
  result: { runId: 'r1', goal: 'g', mode: 'react', status: 'succeeded', answer: 'Noon.', steps: 2, maxSteps: 10, usage: { promptTokens: 1, completionTokens: 1 }, costUsd: null, toolCalls: { total: 1, succeeded: 1 }, startedAt: new Date(0).toISOString(), endedAt: new Date(1000).toISOString(), workspaceDir: '/tmp/w' },
};

/** Plays events into a view with a thread (or inline when `thread` is false); returns what was posted. */
async function play(events: RunEvent[], thread = true) {
  const posts: { content: string; files: StepFile[] }[] = [];
  const statuses: string[] = [];
  const view = new RunView(
    {
      status: (content) => {
        statuses.push(content);
        return Promise.resolve();
      },
      ...(thread
        ? {
            step: (content: string, files: StepFile[]) => {
              posts.push({ content, files });
              return Promise.resolve();
            },
          }
        : {}),
      onError: (error) => {
        throw error;
      },
    },
    0,
  );
  for (const event of events) view.sink(event);
  await view.settled();
  return { posts, status: statuses.at(-1) ?? '' };
}

describe('RunView: the model’s reasoning', () => {
  it('puts short reasoning behind a spoiler, its own pipes escaped, and keeps what the model said in italics', async () => {
    const { posts } = await play([started, step(1, 'Use a || b to check.', true), step(2, 'Done checking.', false, 'tool_calls'), final]);
    const text = posts.map((p) => p.content).join('\n');
    expect(text).toContain('**Step 1** · calling `current_time` — 💭 ||Use a \\|\\| b to check.||');
    expect(text).toContain('**Step 2** · calling `current_time` — *Done checking.*');
    expect(posts.flatMap((p) => p.files)).toEqual([]);
  });

  it('attaches long reasoning as reasoning-step-N.txt with the step', async () => {
    const long = `Let me think. ${'Considering every option in turn. '.repeat(60)}`;
    expect(long.length).toBeGreaterThan(1_500);
    const { posts } = await play([started, step(1, 'Short.', true), step(2, long, true, 'final'), final]);
    const text = posts.map((p) => p.content).join('\n');
    expect(text).toContain(`**Step 2** · answer — 💭 reasoning in \`reasoning-step-2.txt\` (${long.length.toLocaleString('en')} characters)`);
    expect(text).not.toContain('Considering every option');
    expect(posts.flatMap((p) => p.files)).toEqual([{ name: 'reasoning-step-2.txt', content: long }]);
  });

  it('shows steps inline without a thread: a short spoiler, always closed', async () => {
    const { status } = await play([started, step(1, `${'x'.repeat(400)} end`, true), final], false);
    const line = status.split('\n').find((l) => l.startsWith('**Step 1**')) ?? '';
    expect(line).toMatch(/— 💭 \|\|x+…\|\|$/);
    expect(line.length).toBeLessThanOrEqual(300);
  });
});
