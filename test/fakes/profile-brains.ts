/**
 * Scripted models for the server profiles (model-profiles.ts), shared by
 * test/agent/server-profiles.test.ts and bench/compat.ts: each answers plans, completion checks,
 * reflections and lessons as JSON, and otherwise calls tools or answers like a small model would.
 */
import type { ChatCompletionRequestBody } from './openai-server.js';
import { textOf, type Brain, type BrainView, type Intent } from './model-profiles.js';

export const CLOCK_ANSWER = 'It is noon in Oslo.';
export const FILE_ANSWER = 'big.txt is a log of numbered lines about a quick brown fox.';
export const LESSON = { wentWrong: 'It gave the time without the city.', doInstead: 'Name the city with the time.', appliesWhen: 'questions about the time somewhere' };
/** The file brain's file: ten times read_file's 6,000-character page, far more than a 4,096-token window holds. */
export const FILE_CHARS = 60_000;
/** The file brain reads big.txt up to this offset, then answers: three reads of 6,000 characters, more when the window cuts them. */
export const READ_UP_TO = 18_000;


/** The tool result the request ends with (a `tool` message, or a prompt-mode "Observation from" turn), or null. */
export function lastObservation(body: ChatCompletionRequestBody): { tool: string; text: string } | null {
  const last = body.messages.at(-1);
  if (last === undefined) return null;
  if (last.role === 'tool') {
    const id = 'tool_call_id' in last && typeof last.tool_call_id === 'string' ? last.tool_call_id : '';
    let tool = 'unknown';
    for (const m of body.messages) {
      const calls = 'tool_calls' in m && Array.isArray(m.tool_calls) ? (m.tool_calls as { id?: string; function?: { name?: string } }[]) : [];
      for (const c of calls) if (c.id === id) tool = c.function?.name ?? tool;
    }
    return { tool, text: textOf(last) };
  }
  if (last.role !== 'user') return null;
  const text = textOf(last);
  const at = text.lastIndexOf('Observation from ');
  if (at < 0) return null;
  const match = /^Observation from ([\w.-]+): ([\s\S]*)$/.exec(text.slice(at));
  return match === null ? null : { tool: match[1] ?? '', text: match[2] ?? '' };
}

export interface StructuredState {
  checks: number;
  plans: number;
}

/**
 * Plans (from `plan`, given the plan's number), completion checks, reflections and lessons, as
 * every brain answers them; null for a plain request. The first completion check falls short, so
 * reflexion reflects and tries again.
 */
export function structuredIntent(view: BrainView, state: StructuredState, plan: (n: number) => unknown): Intent | null {
  const json = (value: unknown): Intent => ({ kind: 'json', value });
  switch (view.format) {
    case null:
      return null;
    case 'plan':
      state.plans += 1;
      return json(plan(state.plans));
    case 'completion_check':
      state.checks += 1;
      return json(state.checks === 1 ? { met: false, missing: 'The answer must be checked once more.' } : { met: true, missing: '' });
    case 'attempt_reflection':
      return json({ whatWentWrong: 'The answer was not checked.', nextTime: 'Check the answer before giving it.' });
    case 'lesson':
      return json(LESSON);
    default:
      throw new Error(`the brain was asked for an unexpected format: ${view.format}`);
  }
}

/** Checks the clock once, then answers. */
export function clockBrain(): Brain {
  const state = { checks: 0, plans: 0 };
  return (view) => {
    const asked = structuredIntent(view, state, (n) => ({ tasks: [{ id: `t${n}`, title: 'Check the clock', detail: 'Read the time in Oslo with current_time.', dependsOn: [] }] }));
    if (asked !== null) return asked;
    if (view.tools !== 'none' && !view.observed.includes('current_time')) return { kind: 'call', tool: 'current_time', arguments: { timezone: 'Europe/Oslo' } };
    return { kind: 'answer', text: CLOCK_ANSWER };
  };
}

/**
 * Reads big.txt chunk by chunk, following the "continue at offset" hints (read_file's own, or the
 * window fitter's when it cut a result) up to READ_UP_TO, then answers from what it read; `onRead`
 * sees each read's offset.
 */
export function fileBrain(onRead: (offset: number) => void = () => undefined): Brain {
  const state = { checks: 0, plans: 0 };
  const read = (offset: number): Intent => {
    onRead(offset);
    return { kind: 'call', tool: 'read_file', arguments: offset === 0 ? { path: 'big.txt' } : { path: 'big.txt', offset } };
  };
  return (view) => {
    const asked = structuredIntent(view, state, (n) => ({ tasks: [{ id: `t${n}`, title: 'Read big.txt', detail: 'Read big.txt with read_file and say what it holds.', dependsOn: [] }] }));
    if (asked !== null) return asked;
    if (view.tools === 'none') return { kind: 'answer', text: FILE_ANSWER };
    const seen = lastObservation(view.body);
    if (seen === null || seen.tool !== 'read_file') return read(0);
    const next = /offset=(\d+)/.exec(seen.text);
    const offset = Number(next?.[1] ?? FILE_CHARS);
    if (offset < READ_UP_TO) return read(offset);
    // Only an answer from text that really arrived counts.
    return { kind: 'answer', text: /line \d+: the quick brown fox/.test(seen.text) ? FILE_ANSWER : 'I could not read big.txt.' };
  };
}
