/**
 * The JSON action a model writes when its tools are described in the prompt instead of sent as
 * `tools` (prompt-tools.ts): one object per reply, a call or a final answer, validated with zod.
 * Models that were never trained on this exact shape drift towards ones they were (LangChain's
 * `{"action","action_input"}`, the bare `{"name","arguments"}` of Llama/Hermes templates, a fenced
 * block, a sentence before the JSON), so those are read too; anything else gets the exact problem.
 */
import { z } from 'zod';
import { parseTextToolCalls } from './tool-text.js';
import { describeIssues } from './wire.js';
import { errorMessage } from '../text.js';
import { balancedSpan } from './json-text.js';

export type Action =
  | { action: 'call'; tool: string; arguments: Record<string, unknown>; thought?: string }
  | { action: 'final'; answer: string };

export type ParsedActions =
  | { ok: true; action: { action: 'final'; answer: string } }
  | { ok: true; calls: { tool: string; arguments: string }[]; thought?: string }
  | { ok: false; problem: string };

/** The format as the model is told it (and reminded of after a mistake). */
export const ACTION_FORMAT =
  'to use a tool: {"action":"call","tool":"<tool name>","arguments":{<arguments matching its schema>}}\n' +
  'to finish: {"action":"final","answer":"<your final answer for the user>"}';

const Arguments = z.record(z.string(), z.unknown(), { error: '"arguments" must be a JSON object of named arguments' });

const CallAction = z.object({
  action: z.literal('call'),
  tool: z.string({ error: '"tool" must name one of the tools' }).min(1, { error: '"tool" must name one of the tools' }),
  arguments: Arguments.default({}),
  thought: z.string().optional(),
});

const FinalAction = z.object({
  action: z.literal('final'),
  answer: z.string({ error: '"answer" must be a string' }).trim().min(1, { error: '"answer" is empty' }),
});

const CALL_WORDS = new Set(['call', 'tool', 'tool_call', 'call_tool', 'use_tool', 'function', 'function_call']);
const FINAL_WORDS = new Set(['final', 'final answer', 'final_answer', 'answer', 'finish', 'respond', 'done']);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Arguments sent as a JSON string (as the native API carries them) are read as the object inside. */
function argumentsOf(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const inner = parseJson(value);
  return inner === undefined ? value : inner;
}

/**
 * The lenient variants mapped onto the canonical shape, which zod then checks. `offered` lets
 * `{"action":"<tool name>",…}` (LangChain's JSON agent) be read as a call.
 */
function canonical(raw: Record<string, unknown>, offered: ReadonlySet<string>): Record<string, unknown> {
  const action = typeof raw.action === 'string' ? raw.action.trim() : undefined;
  const args = argumentsOf(raw.arguments ?? raw.args ?? raw.parameters ?? raw.input ?? raw.action_input);
  const tool = raw.tool ?? raw.tool_name ?? raw.name;
  const answer = raw.answer ?? raw.final_answer ?? raw.content ?? raw.response ?? raw.text ?? raw.action_input;
  const thought = typeof raw.thought === 'string' ? { thought: raw.thought } : {};
  const lower = action?.toLowerCase();
  if (lower !== undefined && CALL_WORDS.has(lower)) return { action: 'call', tool, arguments: args, ...thought };
  if (lower !== undefined && FINAL_WORDS.has(lower)) return { action: 'final', answer: typeof answer === 'object' && answer !== null ? JSON.stringify(answer) : answer };
  if (action !== undefined && offered.has(action)) return { action: 'call', tool: action, arguments: args, ...thought };
  if (action === undefined && tool !== undefined) return { action: 'call', tool, arguments: args, ...thought };
  if (action === undefined && (raw.final_answer !== undefined || raw.answer !== undefined)) return { action: 'final', answer };
  return raw;
}

/** The first balanced `{…}` in the text (strings and escapes respected), or null. */
export function firstJsonObject(text: string): string | null {
  const start = text.indexOf('{');
  if (start === -1) return null;
  // Unclosed: JSON.parse then says what is wrong.
  return balancedSpan(text, start) ?? text.slice(start);
}

/** Validates one action object against the offered tools; `problem` is sent back to the model. */
export function validateAction(value: unknown, offered: ReadonlySet<string>): { ok: true; action: Action } | { ok: false; problem: string } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, problem: 'the reply must be one JSON object' };
  const raw = canonical(value as Record<string, unknown>, offered);
  if (raw.action !== 'call' && raw.action !== 'final') {
    return { ok: false, problem: raw.action === undefined ? 'the object has no "action" field; it must be "call" or "final"' : `"action" must be "call" or "final", not ${JSON.stringify(raw.action)}` };
  }
  const parsed = raw.action === 'call' ? CallAction.safeParse(raw) : FinalAction.safeParse(raw);
  if (!parsed.success) return { ok: false, problem: describeIssues(parsed.error) };
  const action = parsed.data;
  if (action.action === 'call' && !offered.has(action.tool)) {
    return { ok: false, problem: `there is no tool named ${JSON.stringify(action.tool)}; the tools are: ${[...offered].join(', ')}` };
  }
  return { ok: true, action };
}

/**
 * Reads a reply (reasoning already taken out by the client) as one action. The first JSON object
 * counts: a model that goes on to imagine the observation after its action (the classic ReAct
 * run-on) still gets its call run, never its invention. Tool-call markup from the model's own
 * template (Hermes `<tool_call>`, Mistral `[TOOL_CALLS]`: notes §2) is read as calls as well.
 */
export function parseAction(content: string, offered: ReadonlySet<string>): ParsedActions {
  const checked = actionIn(content, offered);
  if (checked.ok) {
    const action = checked.action;
    if (action.action === 'final') return { ok: true, action };
    return { ok: true, calls: [{ tool: action.tool, arguments: JSON.stringify(action.arguments) }], ...(action.thought ? { thought: action.thought } : {}) };
  }
  const markup = parseTextToolCalls(content, offered);
  if (markup !== null && markup.calls.every((c) => offered.has(c.name))) {
    return { ok: true, calls: markup.calls.map((c) => ({ tool: c.name, arguments: c.arguments })) };
  }
  return checked;
}

function actionIn(content: string, offered: ReadonlySet<string>): { ok: true; action: Action } | { ok: false; problem: string } {
  const json = firstJsonObject(content);
  if (json === null) return { ok: false, problem: 'the reply has no JSON object' };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    return { ok: false, problem: `the JSON is not valid (${errorMessage(err)})` };
  }
  return validateAction(value, offered);
}

/** Plain prose, not a failed attempt at JSON: may stand as the answer once corrections run out. */
export function isProse(content: string): boolean {
  const text = content.trim();
  return text !== '' && !/^[[{`]/.test(text) && !/"(action|tool|arguments)"\s*:/.test(text) && !text.includes('<tool_call>');
}
