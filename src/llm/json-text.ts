/**
 * Finding the JSON in a model's reply. Servers that ignore a requested schema (Ollama when
 * `json_schema` lacks its `schema`, llama.cpp given a flat `schema`: notes §4), and models only
 * told in words to write JSON, wrap it in code fences or put prose around it.
 */

/** How many bracket positions are tried: enough for prose with a few asides, bounded for long replies. */
const MAX_STARTS = 20;

const FENCE = /```[ \t]*(?:json|JSON|json5)?[ \t]*\r?\n?([\s\S]*?)\r?\n?[ \t]*```/g;

/**
 * Texts that may be the JSON the model was asked for, likeliest first: the whole reply, each
 * fenced block, then each balanced `{…}` / `[…]` span in order of where it starts. Duplicates are
 * dropped; none of them is known to parse.
 */
export function jsonCandidates(text: string): string[] {
  const found = new Set<string>();
  const add = (candidate: string | undefined): void => {
    const trimmed = candidate?.trim();
    if (trimmed) found.add(trimmed);
  };
  add(text);
  for (const match of text.matchAll(FENCE)) add(match[1]);
  let starts = 0;
  for (let i = 0; i < text.length && starts < MAX_STARTS; i++) {
    const ch = text[i];
    if (ch !== '{' && ch !== '[') continue;
    starts++;
    add(balancedSpan(text, i));
  }
  return [...found];
}

/**
 * The text from `start` (a `{` or `[`) to the bracket that closes it, skipping brackets inside
 * JSON strings; undefined when it never closes (a reply cut off by the token limit).
 */
export function balancedSpan(text: string, start: number): string | undefined {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      depth--;
      if (depth === 0) return text.slice(start, i + 1);
    }
  }
  return undefined;
}
