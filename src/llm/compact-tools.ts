/**
 * Shorter tool descriptions for small context windows. Cairn's built-in tools take ~2,400 tokens
 * as JSON: on a 4,096-token window (llama.cpp's default, many Ollama setups) that leaves too little
 * room for the file being read. Tools are never dropped (the model may need any of them); their
 * words are cut in steps until they take at most their share of the prompt:
 *   1. brief: each description to its first sentence;
 *   2. terse: tool descriptions shorter still, parameter descriptions and bounds left out (the
 *      registry still validates every argument and tells the model what was wrong);
 *   3. bare: tool descriptions to a few words.
 * Names, types, enums and required fields always stay: they are what a call must match.
 */
import type { ToolSpec } from './types.js';

export type ToolDetail = 'full' | 'brief' | 'terse' | 'bare';

/** The steps, longest first. */
const STEPS: readonly ToolDetail[] = ['full', 'brief', 'terse', 'bare'];
/** Longest tool description and parameter description at each step. */
const LIMITS: Record<Exclude<ToolDetail, 'full'>, { tool: number; parameter: number | null }> = {
  brief: { tool: 200, parameter: 100 },
  terse: { tool: 120, parameter: null },
  bare: { tool: 60, parameter: null },
};
/** Schema keywords that only narrow values: worth their tokens only when there is room. */
const BOUNDS = ['minLength', 'maxLength', 'minimum', 'maximum', 'minItems', 'maxItems', 'default', 'pattern', 'format'];

/** The text up to its first sentence end (". " before a capital letter, so "e.g. \"x\"" does not end it), at most `max` characters. */
export function firstSentence(text: string, max: number): string {
  const end = /[.!?](?=\s+[A-Z])/.exec(text);
  const sentence = end === null ? text : text.slice(0, end.index + 1);
  if (sentence.length <= max) return sentence;
  const cut = sentence.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s,;:]+$/, '')}…`;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A copy of a JSON schema node with its descriptions cut to `parameter` characters (null: left out), and bounds left out at `terse` and below. */
function compactSchema(node: unknown, parameter: number | null, dropBounds: boolean): unknown {
  if (Array.isArray(node)) return node.map((item) => compactSchema(item, parameter, dropBounds));
  if (!isRecord(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'description' && typeof value === 'string') {
      if (parameter !== null) out[key] = firstSentence(value, parameter);
    } else if (dropBounds && BOUNDS.includes(key)) {
      continue;
    } else if (key === 'properties' && isRecord(value)) {
      // Property names are data here, not keywords: only their schemas are compacted.
      out[key] = Object.fromEntries(Object.entries(value).map(([name, schema]) => [name, compactSchema(schema, parameter, dropBounds)]));
    } else {
      out[key] = compactSchema(value, parameter, dropBounds);
    }
  }
  return out;
}

export function compactTools(tools: readonly ToolSpec[], detail: ToolDetail): ToolSpec[] {
  if (detail === 'full') return [...tools];
  const limits = LIMITS[detail];
  const dropBounds = detail !== 'brief';
  return tools.map((tool) => ({
    name: tool.name,
    description: firstSentence(tool.description, limits.tool),
    parameters: compactSchema(tool.parameters, limits.parameter, dropBounds) as Record<string, unknown>,
  }));
}

/**
 * The most detailed tools that cost at most `maxTokens` (as `cost` counts them: the JSON, or the
 * prompt text in prompt mode); the barest step when none does.
 */
export function toolsWithin(tools: readonly ToolSpec[], maxTokens: number, cost: (tools: readonly ToolSpec[]) => number): { tools: ToolSpec[]; detail: ToolDetail; tokens: number } {
  let chosen = { tools: [...tools], detail: 'full' as ToolDetail, tokens: 0 };
  for (const detail of STEPS) {
    const compacted = compactTools(tools, detail);
    chosen = { tools: compacted, detail, tokens: cost(compacted) };
    if (chosen.tokens <= maxTokens) break;
  }
  return chosen;
}
