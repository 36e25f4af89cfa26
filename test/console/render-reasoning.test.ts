import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RunEvent } from '../../src/agent/events.js';
import { consoleRenderer, type ConsoleRendererOptions } from '../../src/console/render.js';

const DIM = '\u001b[2m';
const ITALIC = '\u001b[3m';

function step(reasoning: string | null, thinking: boolean): RunEvent {
  return { type: 'step', runId: 'r1', elapsedMs: 1200, step: 1, maxSteps: 10, decision: 'tool_calls', reasoning, thinking, toolNames: ['current_time'], usage: { promptTokens: 10, completionTokens: 5 }, costUsd: null };
}

function render(event: RunEvent, options: ConsoleRendererOptions, isTTY = false): string[] {
  const written: string[] = [];
  const sink = consoleRenderer({ write: (text: string) => written.push(text), isTTY }, options);
  void sink(event);
  return written.join('').split('\n');
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('console renderer: reasoning', () => {
  it('shows the model’s own reasoning dimmed and labelled, apart from what it said', () => {
    const [, thought] = render(step('The user wants\nthe time in Tokyo.', true), { color: true });
    expect(thought).toBe(`  ${DIM}${ITALIC}thinking: The user wants the time in Tokyo.\u001b[23m\u001b[22m`);
    const [, said] = render(step('Checking the clock.', false), { color: true });
    expect(said).toBe(`  ${ITALIC}Checking the clock.\u001b[23m`);
  });

  it('writes plain text without colour, on a pipe, and under NO_COLOR', () => {
    expect(render(step('Hmm.', true), { color: false })[1]).toBe('  thinking: Hmm.');
    expect(render(step('Hmm.', true), {}, false)[1]).toBe('  thinking: Hmm.');
    vi.stubEnv('NO_COLOR', '1');
    expect(render(step('Hmm.', true), {}, true)[1]).toBe('  thinking: Hmm.');
  });
});
