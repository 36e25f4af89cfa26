/**
 * Text the registry shows the model: argument errors, rendered output, truncation. Every
 * message names the problem precisely and says what is expected, so the model can retry.
 */
import type { z } from 'zod';

const MAX_EXCERPT_CHARS = 120;
const MAX_ISSUES = 8;

/** Shortens model-supplied text for quoting in an error. */
function excerpt(text: string): string {
  if (text.length <= MAX_EXCERPT_CHARS) return text;
  return `${text.slice(0, MAX_EXCERPT_CHARS - 30)} … ${text.slice(-20)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A compact type name for one JSON schema property, e.g. `string`, `"a" | "b"`. */
function describeType(schema: unknown): string {
  if (!isRecord(schema)) return 'value';
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (typeof schema.type === 'string') return schema.type;
  if (Array.isArray(schema.type)) return schema.type.map(String).join(' | ');
  if (Array.isArray(schema.anyOf)) return schema.anyOf.map(describeType).join(' | ');
  return 'value';
}

/** One-line summary of an object schema's fields: `path (string, required), offset (integer)`. */
export function describeFields(parameters: Record<string, unknown>): string {
  const properties = isRecord(parameters.properties) ? parameters.properties : {};
  const required = new Set(Array.isArray(parameters.required) ? parameters.required.map(String) : []);
  return Object.entries(properties)
    .map(([name, schema]) => `${name} (${describeType(schema)}${required.has(name) ? ', required' : ''})`)
    .join(', ');
}

function expectation(fields: string): string {
  return fields === '' ? 'a JSON object ({} — this tool takes no arguments)' : `a JSON object with these fields: ${fields}`;
}

export function invalidJsonMessage(tool: string, raw: string, parseError: string, fields: string): string {
  return (
    `the arguments for ${tool} are not valid JSON (${parseError}); received: ${excerpt(raw)} — ` +
    `expected ${expectation(fields)}. Fix the arguments and call ${tool} again.`
  );
}

/** `items[0].name` style path; the whole argument object is "arguments". */
function issuePath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'arguments';
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`))
    .join('');
}

function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function describeIssue(issue: z.core.$ZodIssue, fields: string): string {
  switch (issue.code) {
    case 'invalid_type':
      // Needs parsing with reportInput: a missing field arrives as input undefined.
      return issue.input === undefined
        ? `required field is missing (expected ${issue.expected})`
        : `expected ${issue.expected}, received ${jsonTypeOf(issue.input)}`;
    case 'unrecognized_keys': {
      const keys = issue.keys.map((k) => JSON.stringify(k)).join(', ');
      const accepted = fields === '' ? 'this tool takes no arguments' : `accepted fields: ${fields}`;
      return `unknown field${issue.keys.length === 1 ? '' : 's'} ${keys}; ${accepted}`;
    }
    default:
      return issue.message;
  }
}

/** All validation problems, each with its path: `path: expected string, received number; …`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], fields: string): string {
  const shown = issues.slice(0, MAX_ISSUES).map((issue) => `${issuePath(issue.path)}: ${describeIssue(issue, fields)}`);
  const more = issues.length > MAX_ISSUES ? `; and ${issues.length - MAX_ISSUES} more problems` : '';
  return shown.join('; ') + more;
}

/** Strings as-is, anything else as indented JSON. Throws for values JSON cannot represent. */
export function renderOutput(value: unknown): string {
  if (typeof value === 'string') return value === '' ? '(no output)' : value;
  if (value === undefined) return '(no output)';
  // JSON.stringify returns undefined for functions and symbols, despite its declared type.
  const json = JSON.stringify(value, null, 2) as string | undefined;
  return json ?? '(no output)';
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * Keeps the head (most output puts what matters first) and a fifth of the budget for the tail
 * (where errors and summaries end up), with a note saying exactly how much was cut.
 */
export function truncateMiddle(text: string, maxChars: number): { text: string; truncated: boolean } {
  if (text.length <= maxChars) return { text, truncated: false };
  const tailChars = Math.floor(maxChars / 5);
  let headEnd = maxChars - tailChars;
  let tailStart = text.length - tailChars;
  // Never split a surrogate pair: half an emoji is not valid text for the API.
  if (isHighSurrogate(text.charCodeAt(headEnd - 1))) headEnd -= 1;
  if (isLowSurrogate(text.charCodeAt(tailStart))) tailStart += 1;
  const shown = headEnd + (text.length - tailStart);
  const note = `\n\n[… output truncated: showing ${shown} of ${text.length} characters …]\n\n`;
  return { text: text.slice(0, headEnd) + note + text.slice(tailStart), truncated: true };
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The registered name the model most plausibly meant, if any is close enough. */
export function suggestName(wanted: string, names: readonly string[]): string | undefined {
  const lower = wanted.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const candidate = name.toLowerCase();
    // "read" for "read_file": containment counts as close, but not for tiny fragments.
    const contains = lower.length >= 3 && (candidate.includes(lower) || lower.includes(candidate));
    const distance = contains ? 1 : editDistance(lower, candidate);
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  const threshold = Math.max(2, Math.floor(wanted.length / 3));
  return best !== undefined && best.distance <= threshold ? best.name : undefined;
}
