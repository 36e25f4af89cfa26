/**
 * Makes a request's messages fit a token budget, cutting in a fixed order and never touching the
 * rules (the first system message up to its memory section), the goal (the user turn after the
 * earlier conversation) or the newest message. The order, cheapest loss first:
 *   1. tool results of older steps, longest first, cut to a short head with a note;
 *   2. earlier conversation turns, oldest first, dropped;
 *   3. the recalled-memory section of the system prompt (and any briefing after it), cut from its end;
 *   4. the newest step's tool results, longest first, cut to a short head with a note;
 *   5. images on user turns (the goal's included), last first, each replaced by a note naming it.
 * A cut read_file result says the exact offset to read on from; the caller keeps the originals,
 * so each request is cut afresh from them.
 */
import { estimateTextTokens, estimateTokens } from './tokens.js';
import type { ChatMessage, ToolSpec } from './types.js';

/** Where the memory section starts in the system prompt (src/memory/run-context.ts renders it). */
const MEMORY_HEADING = '\n# Memory\n';
/** The first line of the agent's digest of older steps (src/agent/context.ts), so it can be shortened. */
export const CONDENSED_STEPS_HEADER = '[Your earlier steps, condensed: their full tool results are no longer shown. Call a tool again if you need a detail.]';
/** Characters of a cut tool result kept ahead of the note: older steps, then the newest one. */
const OLDER_RESULT_FLOOR = 200;
const NEWEST_RESULT_FLOOR = 400;
const MEMORY_DROPPED = "[Recalled memory left out to fit the model's context window; use memory_search to look something up.]";

export interface FitResult {
  messages: ChatMessage[];
  /** Estimated prompt tokens after fitting. */
  tokens: number;
  /** What was cut, for the log. */
  cuts: string[];
  fits: boolean;
}

/**
 * The prompt tokens a window allows: the reply's room (the request's own limit, else an eighth of
 * the window between 256 and 4,096), and a tenth for estimation error. tokens.ts counts ~4
 * characters a token; code, JSON and non-English text run denser, and servers add their chat
 * template's framing.
 */
export function promptBudget(windowTokens: number, maxOutputTokens?: number): number {
  const reply = maxOutputTokens ?? Math.min(4_096, Math.max(256, Math.round(windowTokens / 8)));
  return Math.max(256, windowTokens - reply - Math.ceil(windowTokens / 10));
}

/** Messages plus the tool specs, which travel as `tools` or in the system prompt (prompt-tools.ts). */
export function estimateRequest(messages: readonly ChatMessage[], tools: readonly ToolSpec[] | undefined): number {
  return estimateTokens(messages) + toolSpecTokens(tools);
}

/** The tool specs' share of a request (their JSON). */
export function toolSpecTokens(tools: readonly ToolSpec[] | undefined): number {
  return tools === undefined || tools.length === 0 ? 0 : estimateTextTokens(JSON.stringify(tools).length);
}

export function fitMessages(original: readonly ChatMessage[], tools: readonly ToolSpec[] | undefined, budget: number): FitResult {
  const messages = original.map((m) => ({ ...m }));
  const cuts: string[] = [];
  // The tools do not change while messages are cut: counted once, not on every try.
  const toolTokens = toolSpecTokens(tools);
  const size = (): number => estimateTokens(messages) + toolTokens;
  const over = (): number => size() - budget;
  if (over() <= 0) return { messages, tokens: size(), cuts, fits: true };

  const calls = callsById(messages);
  cutResults(messages, toolResults(messages, 'older'), OLDER_RESULT_FLOOR, over, calls, cuts);
  if (over() > 0) dropEarlierTurns(messages, over, cuts);
  if (over() > 0) cutMemory(messages, over, cuts);
  if (over() > 0) cutDigest(messages, over, cuts);
  // Found again: dropping turns moved every index.
  if (over() > 0) cutResults(messages, toolResults(messages, 'newest'), NEWEST_RESULT_FLOOR, over, calls, cuts);
  // Last: images, each replaced by a note the model reads, never dropped without a word.
  if (over() > 0) cutImages(messages, over, cuts);
  return { messages, tokens: size(), cuts, fits: over() <= 0 };
}

/** Indexes of the tool results of the newest step (after the last call), or of the steps before it. */
function toolResults(messages: readonly ChatMessage[], which: 'older' | 'newest'): number[] {
  const lastCall = messages.findLastIndex((m) => m.role === 'assistant' && (m.toolCalls?.length ?? 0) > 0);
  return messages.flatMap((m, i) => (m.role === 'tool' && (which === 'newest' ? i > lastCall : i < lastCall) ? [i] : []));
}

interface CallInfo {
  name: string;
  arguments: string;
}

function callsById(messages: readonly ChatMessage[]): Map<string, CallInfo> {
  const calls = new Map<string, CallInfo>();
  for (const m of messages) if (m.role === 'assistant') for (const call of m.toolCalls ?? []) calls.set(call.id, call);
  return calls;
}

/** Cuts the longest of `indexes` first, each no shorter than `floor`, until nothing is over. */
function cutResults(messages: ChatMessage[], indexes: number[], floor: number, over: () => number, calls: Map<string, CallInfo>, cuts: string[]): void {
  const candidates = indexes.filter((i) => (messages[i]?.content?.length ?? 0) > floor + 200);
  while (over() > 0 && candidates.length > 0) {
    candidates.sort((a, b) => (messages[b]?.content?.length ?? 0) - (messages[a]?.content?.length ?? 0));
    const index = candidates.shift();
    const message = index === undefined ? undefined : messages[index];
    if (index === undefined || message?.role !== 'tool') break;
    // Down to the floor or just enough (in characters, ~4 a token), whichever keeps more; the note's length is paid for too.
    const keep = Math.max(floor, message.content.length - over() * 4 - 200);
    messages[index] = { ...message, content: cutResult(message.content, keep, calls.get(message.toolCallId)) };
    cuts.push(`tool result ${message.toolCallId} to ${keep} of ${message.content.length} characters`);
  }
}

/** The head of a tool result and a note saying how to see the rest. */
export function cutResult(content: string, keep: number, call: CallInfo | undefined): string {
  let end = Math.min(keep, content.length);
  const code = content.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1; // half a surrogate pair is not valid text
  const read = call?.name === 'read_file' ? readArguments(call.arguments) : null;
  const how =
    read === null
      ? `showing ${end} of ${content.length} characters; call ${call?.name ?? 'the tool'} again with narrower arguments for the rest`
      : `read the rest with read_file path=${JSON.stringify(read.path)} offset=${read.offset + end}`;
  return `${content.slice(0, end)}\n\n[cut to fit the model's context window; ${how}]`;
}

/** read_file's result starts at its `offset`, so a cut at `end` continues at offset + end. */
function readArguments(raw: string): { path: string; offset: number } | null {
  try {
    const args: unknown = JSON.parse(raw);
    if (typeof args !== 'object' || args === null || !('path' in args) || typeof args.path !== 'string') return null;
    const offset = 'offset' in args && typeof args.offset === 'number' ? args.offset : 0;
    return { path: args.path, offset };
  } catch {
    return null;
  }
}

/**
 * The earlier conversation is everything between the system message and the last plain assistant
 * turn before the first step (buildHead: system, history, goal); the goal after it stays. Turns go
 * oldest first, and a leading assistant turn goes with its user turn so roles still alternate.
 */
function dropEarlierTurns(messages: ChatMessage[], over: () => number, cuts: string[]): void {
  const firstStep = messages.findIndex((m) => m.role === 'tool' || (m.role === 'assistant' && (m.toolCalls?.length ?? 0) > 0));
  const headEnd = firstStep === -1 ? messages.length : firstStep;
  const start = messages[0]?.role === 'system' ? 1 : 0;
  let lastTurn = -1;
  for (let i = start; i < headEnd; i++) if (messages[i]?.role === 'assistant') lastTurn = i;
  let dropped = 0;
  while (over() > 0 && lastTurn >= start) {
    messages.splice(start, 1);
    lastTurn -= 1;
    dropped += 1;
    if (messages[start]?.role === 'assistant' && lastTurn >= start) {
      messages.splice(start, 1);
      lastTurn -= 1;
      dropped += 1;
    }
  }
  if (dropped > 0) cuts.push(`${dropped} earlier conversation turns`);
}

/** Drops the oldest lines of the digest of older steps, keeping its header (it says how to get details back). */
function cutDigest(messages: ChatMessage[], over: () => number, cuts: string[]): void {
  const index = messages.findIndex((m) => m.role === 'user' && m.content.startsWith(CONDENSED_STEPS_HEADER));
  const digest = messages[index];
  if (digest?.role !== 'user') return;
  const lines = digest.content.split('\n');
  const total = lines.length - 1;
  while (over() > 0 && lines.length > 1) {
    lines.splice(1, 1);
    messages[index] = { role: 'user', content: lines.join('\n') };
  }
  cuts.push(`digest of older steps to ${lines.length - 1} of ${total} lines`);
}

/** Cuts the system prompt's memory section from its end (memories come in rank order), or drops it. */
function cutMemory(messages: ChatMessage[], over: () => number, cuts: string[]): void {
  const system = messages[0];
  if (system?.role !== 'system') return;
  const at = system.content.indexOf(MEMORY_HEADING);
  if (at === -1) return;
  const rules = system.content.slice(0, at);
  const memory = system.content.slice(at);
  const keep = memory.length - over() * 4 - 200;
  const note = `\n[… the rest of the recalled memory left out to fit the model's context window; use memory_search to look something up.]`;
  const kept = keep > 400 ? `${memory.slice(0, memory.lastIndexOf('\n', keep))}${note}` : `\n\n${MEMORY_DROPPED}`;
  messages[0] = { role: 'system', content: rules + kept };
  cuts.push(`memory section to ${kept.length} of ${memory.length} characters`);
}

/** Takes images off user turns, the last image first, each replaced by a note naming it. */
function cutImages(messages: ChatMessage[], over: () => number, cuts: string[]): void {
  let cut = 0;
  for (let i = messages.length - 1; i >= 0 && over() > 0; i--) {
    const message = messages[i];
    if (message?.role !== 'user' || (message.images?.length ?? 0) === 0) continue;
    const images = [...(message.images ?? [])];
    const notes: string[] = [];
    while (images.length > 0 && over() > 0) {
      const image = images.pop();
      if (image === undefined) break;
      notes.unshift(image.name ?? 'an image');
      cut += 1;
      messages[i] = { role: 'user', content: `${message.content}\n\n${imagesLeftOut(notes)}`, ...(images.length > 0 ? { images: [...images] } : {}) };
    }
  }
  if (cut > 0) cuts.push(`${cut} image${cut === 1 ? '' : 's'}`);
}

function imagesLeftOut(names: readonly string[]): string {
  const quoted = names.map((n) => JSON.stringify(n)).join(', ');
  return `[Left out to fit the model's context window, so you cannot see ${names.length === 1 ? 'it' : 'them'}: the image${names.length === 1 ? '' : 's'} ${quoted}. ${names.length === 1 ? 'It is' : 'They are'} still in your workspace.]`;
}
