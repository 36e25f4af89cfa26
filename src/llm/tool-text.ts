/**
 * Tool calls a model wrote as text. When a server has no parser for a model's tool-call format
 * (vLLM without --tool-call-parser, LM Studio when its parse fails, SGLang bugs), the call arrives
 * in `content` as markup; shown as an answer it is noise, run as a call it is what the model meant.
 * Formats, from ../shared/notes/model-servers.md §2 "Text formats seen in content":
 *   Hermes / Qwen2.5 / Qwen3    <tool_call>{"name": "f", "arguments": {…}}</tool_call>
 *   Qwen3-Coder (qwen3_xml)     <tool_call><function=f><parameter=p>v</parameter></function></tool_call>
 *   Mistral                     [TOOL_CALLS][{"name": "f", "arguments": {…}}]
 *   Llama 3.x                   <|python_tag|>{"name": "f", "parameters": {…}}  (or the bare object)
 *   LM Studio default           [TOOL_REQUEST]{"name": "f", "arguments": {…}}[END_TOOL_REQUEST]
 *   any                         a bare or ```json-fenced object with "name" and "arguments"/"parameters"
 */
import { z } from 'zod';

export interface TextToolCall {
  name: string;
  /** The arguments as a JSON object text, as native tool calls carry them. */
  arguments: string;
}

export interface TextToolCalls {
  calls: TextToolCall[];
  /** What is left of the reply once the markup is taken out (often empty). */
  text: string;
}

/** Longer replies are not searched for calls: a call is short, and the search must stay cheap. */
const MAX_SCANNED_CHARS = 200_000;
/** More calls than this in one reply are not taken (one step runs what it is given). */
const MAX_CALLS = 16;

const CallObject = z.union([
  z.object({ name: z.string().min(1).max(200), arguments: z.union([z.record(z.string(), z.unknown()), z.string()]) }),
  z.object({ name: z.string().min(1).max(200), parameters: z.record(z.string(), z.unknown()) }),
  // Some templates nest it the way the API does: {"type":"function","function":{…}}.
  z.object({ function: z.object({ name: z.string().min(1).max(200), arguments: z.union([z.record(z.string(), z.unknown()), z.string()]) }) }),
]);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A call from a parsed JSON object, or null when it is not one. */
function callFrom(value: unknown): TextToolCall | null {
  const parsed = CallObject.safeParse(value);
  if (!parsed.success) return null;
  const data = parsed.data;
  const { name, args } = 'function' in data ? { name: data.function.name, args: data.function.arguments } : 'parameters' in data ? { name: data.name, args: data.parameters } : { name: data.name, args: data.arguments };
  // Arguments given as a JSON string must hold an object; anything else is not a call.
  if (typeof args === 'string') {
    const inner = parseJson(args);
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return null;
    return { name, arguments: args };
  }
  return { name, arguments: JSON.stringify(args) };
}

/** Calls from a JSON text holding one call object or an array of them. */
function callsFromJson(text: string): TextToolCall[] | null {
  const value = parseJson(text.trim());
  const items = Array.isArray(value) ? value : [value];
  const calls = items.map(callFrom);
  return calls.length > 0 && calls.every((c) => c !== null) ? calls : null;
}

/** Qwen3-Coder's XML form: <function=NAME><parameter=P>value</parameter>…</function>. */
function callFromXml(body: string): TextToolCall | null {
  const fn = /^\s*<function=([^>\s]{1,200})>([\s\S]*?)<\/function>\s*$/.exec(body);
  if (fn === null) return null;
  const args: Record<string, unknown> = {};
  for (const param of (fn[2] ?? '').matchAll(/<parameter=([^>\s]{1,200})>([\s\S]*?)<\/parameter>/g)) {
    const raw = (param[2] ?? '').trim();
    // Values are written bare; numbers, booleans and JSON values are read as such, the rest as text.
    const json = parseJson(raw);
    args[param[1] ?? ''] = json === undefined ? raw : json;
  }
  return { name: fn[1] ?? '', arguments: JSON.stringify(args) };
}

/** Every `open…close` block: its inner text and where it was. */
function blocks(content: string, open: string, close: string): { inner: string; start: number; end: number }[] {
  const found: { inner: string; start: number; end: number }[] = [];
  let from = 0;
  while (found.length <= MAX_CALLS) {
    const start = content.indexOf(open, from);
    if (start === -1) break;
    const closeAt = content.indexOf(close, start + open.length);
    // An unclosed last block (the model stopped after it) runs to the end.
    const end = closeAt === -1 ? content.length : closeAt + close.length;
    found.push({ inner: content.slice(start + open.length, closeAt === -1 ? content.length : closeAt), start, end });
    from = end;
  }
  return found;
}

function withoutRanges(content: string, ranges: { start: number; end: number }[]): string {
  let out = '';
  let at = 0;
  for (const range of ranges) {
    out += content.slice(at, range.start);
    at = range.end;
  }
  return (out + content.slice(at)).trim();
}

/**
 * Mistral: `[TOOL_CALLS][{…}, …]` (v3 tokenizers), or one `[TOOL_CALLS]name[ARGS]{…}` per call
 * (v11 tokenizers, as in mistral-common's tokenizer and vLLM's mistral tool parser).
 */
function mistralCalls(text: string): TextToolCall[] | null {
  const segments = text.split('[TOOL_CALLS]').slice(1);
  if (segments.length === 0 || segments.length > MAX_CALLS) return null;
  const calls: TextToolCall[] = [];
  for (const segment of segments) {
    const named = /^\s*([A-Za-z0-9_.:-]{1,200})\[ARGS\]([\s\S]*)$/.exec(segment);
    const parsed = named === null ? callsFromJson(segment) : callsFromJson(JSON.stringify({ name: named[1], arguments: parseJson((named[2] ?? '').trim()) ?? null }));
    if (parsed === null) return null;
    calls.push(...parsed);
  }
  return calls;
}

/** Tagged formats: every block must parse, or the reply is left alone (it may be prose about tags). */
function tagged(content: string, open: string, close: string, parse: (inner: string) => TextToolCall[] | null): TextToolCalls | null {
  const found = blocks(content, open, close);
  if (found.length === 0 || found.length > MAX_CALLS) return null;
  const calls: TextToolCall[] = [];
  for (const block of found) {
    const parsed = parse(block.inner);
    if (parsed === null) return null;
    calls.push(...parsed);
  }
  return calls.length === 0 || calls.length > MAX_CALLS ? null : { calls, text: withoutRanges(content, found) };
}

/**
 * The tool calls written as text in a reply, or null when it holds none. A bare JSON object counts
 * only when it is the whole reply (fenced or not) and names an offered tool: an answer that happens
 * to be JSON about something else stays an answer.
 */
export function parseTextToolCalls(content: string, offered: ReadonlySet<string>): TextToolCalls | null {
  if (content.length > MAX_SCANNED_CHARS) return null;
  const hermes = tagged(content, '<tool_call>', '</tool_call>', (inner) => {
    const xml = callFromXml(inner);
    return xml === null ? callsFromJson(inner) : [xml];
  });
  if (hermes !== null) return hermes;
  const lmStudio = tagged(content, '[TOOL_REQUEST]', '[END_TOOL_REQUEST]', callsFromJson);
  if (lmStudio !== null) return lmStudio;

  const mistral = content.indexOf('[TOOL_CALLS]');
  if (mistral !== -1) {
    const calls = mistralCalls(content.slice(mistral));
    if (calls !== null && calls.length <= MAX_CALLS) return { calls, text: content.slice(0, mistral).trim() };
  }
  const pythonTag = content.indexOf('<|python_tag|>');
  if (pythonTag !== -1) {
    const calls = callsFromJson(content.slice(pythonTag + '<|python_tag|>'.length).replace(/<\|eom_id\|>|<\|eot_id\|>/g, ''));
    if (calls !== null && calls.length <= MAX_CALLS) return { calls, text: content.slice(0, pythonTag).trim() };
  }

  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n\s*```\s*$/.exec(content);
  const bare = callsFromJson(fenced === null ? content : (fenced[1] ?? ''));
  if (bare !== null && bare.length <= MAX_CALLS && bare.every((c) => offered.has(c.name))) return { calls: bare, text: '' };
  return null;
}
