/**
 * The server's own words from an error body, whatever shape it came in. openai v6 reads only
 * `body.error`, so vLLM ≤0.10.0 and SGLang (flat `{"object":"error","message":…}`) and FastAPI
 * wrappers (`{"detail":…}`) reach it as "400 status code (no body)", and LM Studio's string
 * `{"error":"X"}` arrives JSON-quoted (../shared/notes/model-servers.md §1). Pure: no I/O.
 */
import { z } from 'zod';
import { maskSecrets } from './errors.js';

/** Bodies are read up to this many bytes: an error page longer than this says nothing more useful. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** Long enough for OpenRouter's context-length message with its "middle-out" advice; errors.ts cuts further for people. */
export const MAX_MESSAGE_CHARS = 1000;

export type ErrorField = string | number | boolean | null;

export interface ServerError {
  /** The server's words: whitespace collapsed, secrets masked, cut to MAX_MESSAGE_CHARS. */
  message?: string;
  /**
   * Scalar fields beside the message (`type`, `code`, `param`, llama.cpp's `n_prompt_tokens` and
   * `n_ctx`), kept so callers can tell `context_length_exceeded` or `exceed_context_size_error` apart.
   */
  fields: Record<string, ErrorField>;
}

export interface ErrorBodyInput {
  status: number;
  body: string;
  contentType?: string | null;
  /** Values never to repeat (the API key), even when a server echoes them. */
  secrets?: readonly string[];
}

// The shapes in the field, most specific first (see fromJson for who sends which).
const StringError = z.looseObject({ error: z.string().min(1) });
const NestedError = z.looseObject({
  error: z.looseObject({ metadata: z.looseObject({ raw: z.string().optional() }).nullish().catch(undefined) }),
});
const FlatError = z.looseObject({ message: z.unknown().refine((m) => m !== undefined && m !== null && m !== '') });
const ValidationIssue = z.looseObject({ loc: z.array(z.union([z.string(), z.number()])).optional().catch(undefined), msg: z.string() });
const DetailError = z.looseObject({ detail: z.unknown().refine((d) => d !== undefined && d !== null) });
const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export function extractServerError(input: ErrorBodyInput): ServerError {
  const text = input.body.slice(0, MAX_ERROR_BODY_BYTES);
  const found = fromJsonText(text) ?? (isHtml(text, input.contentType) ? { message: htmlHeadline(text), fields: {} } : undefined);
  const raw = found ?? { message: text, fields: {} };
  const secrets = input.secrets ?? [];
  const fields: Record<string, ErrorField> = {};
  for (const [key, value] of Object.entries(raw.fields)) fields[key] = typeof value === 'string' ? tidy(value, secrets) : value;
  const message = raw.message === undefined ? undefined : withoutStatus(tidy(raw.message, secrets), input.status);
  return message ? { message, fields } : { fields };
}

/**
 * The message inside an already-parsed error value: what the SDK stores as `err.error`, or one
 * `data: {"error":…}` event of a stream. Strings and objects alike; undefined when there is none.
 */
export function errorValueText(value: unknown): string | undefined {
  return fromJson(value, 0).message;
}

/** Any JSON text, whatever the content type claims: proxies and small servers label JSON text/plain or text/html. */
function fromJsonText(text: string): ServerError | undefined {
  if (!/^\s*[[{"]/.test(text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined; // cut at MAX_ERROR_BODY_BYTES or not JSON after all: read it as text
  }
  const found = fromJson(value, 0);
  // A JSON body in none of the known shapes is still the server's words; show it compactly.
  return found.message === undefined ? { message: JSON.stringify(value), fields: found.fields } : found;
}

function fromJson(value: unknown, depth: number): ServerError {
  if (typeof value === 'string') return { message: value, fields: {} };
  if (depth > 3) return { fields: {} };
  if (Array.isArray(value)) return value.length > 0 ? fromJson(value[0], depth + 1) : { fields: {} };
  // `{"error":"X"}`: LM Studio, Ollama's native /api routes.
  const stringError = StringError.safeParse(value);
  if (stringError.success) return { message: stringError.data.error, fields: {} };
  // `{"error":{"message":"X",…}}`: OpenAI, Ollama /v1, vLLM ≥0.10.1, llama.cpp, OpenRouter.
  const nested = NestedError.safeParse(value);
  if (nested.success) {
    const { error } = nested.data;
    const inner = fromJson({ ...error, error: undefined }, depth + 1);
    return { ...inner, message: withProviderRaw(inner.message, error.metadata?.raw) };
  }
  // `{"object":"error","message":"X","type":…,"code":400}`: vLLM ≤0.10.0 and SGLang.
  const flat = FlatError.safeParse(value);
  if (flat.success) {
    const { message } = flat.data;
    return { message: typeof message === 'string' ? message : JSON.stringify(message), fields: scalars(flat.data) };
  }
  // `{"detail":…}`: FastAPI (a string from HTTPException, a list of {loc,msg} on validation errors).
  const detail = DetailError.safeParse(value);
  if (detail.success) return { message: detailText(detail.data.detail, depth), fields: scalars(detail.data) };
  const other = z.record(z.string(), z.unknown()).safeParse(value);
  return { fields: other.success ? scalars(other.data) : {} };
}

/** OpenRouter wraps upstream failures as "Provider returned error" with the provider's body in `metadata.raw`. */
function withProviderRaw(message: string | undefined, raw: string | undefined): string | undefined {
  if (raw === undefined || !raw.trim()) return message;
  const words = fromJsonText(raw)?.message ?? raw;
  return message ? `${message}: ${words}` : words;
}

/** FastAPI validation errors: `[{"loc":["body","messages",0],"msg":"Field required",…}]` → `messages.0: Field required`. */
function detailText(detail: unknown, depth: number): string | undefined {
  if (typeof detail === 'string') return detail;
  if (!Array.isArray(detail)) return fromJson(detail, depth + 1).message ?? JSON.stringify(detail);
  const parts = detail.map((item) => {
    const issue = ValidationIssue.safeParse(item);
    if (!issue.success) return JSON.stringify(item);
    const loc = (issue.data.loc ?? []).filter((part, i) => !(i === 0 && part === 'body')).join('.');
    return loc ? `${loc}: ${issue.data.msg}` : issue.data.msg;
  });
  return parts.join('; ') || undefined;
}

/** Top-level scalars other than the message itself; `object: "error"` says nothing. */
function scalars(value: Record<string, unknown>): Record<string, ErrorField> {
  const out: Record<string, ErrorField> = {};
  for (const [key, field] of Object.entries(value)) {
    if (key === 'message' || key === 'object' || key === 'detail' || key === 'error' || key === 'metadata') continue;
    const scalar = Scalar.safeParse(field);
    if (scalar.success) out[key] = scalar.data;
  }
  return out;
}

/** Proxies (nginx, Cloudflare) answer 502/504 with an HTML page; its title is the useful part. */
function isHtml(text: string, contentType: string | null | undefined): boolean {
  return /html/i.test(contentType ?? '') || /^\s*<(!doctype html|html|head|body)\b/i.test(text);
}

function htmlHeadline(html: string): string | undefined {
  const match = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html) ?? /<h[1-3][^>]*>([\s\S]*?)<\/h[1-3]>/i.exec(html);
  const text = match?.[1] === undefined ? '' : decodeEntities(match[1].replace(/<[^>]*>/g, ' '));
  return text.trim() || undefined;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name.startsWith('#')) {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

/** Secrets are masked before the cut, so a key straddling the cut cannot leave a prefix behind. */
function tidy(text: string, secrets: readonly string[]): string {
  const clean = maskSecrets(text.replace(/\s+/g, ' ').trim(), secrets);
  return clean.length > MAX_MESSAGE_CHARS ? `${clean.slice(0, MAX_MESSAGE_CHARS - 1)}…` : clean;
}

/** "502 Bad Gateway" under status 502 (nginx's title, Gin's "404 page not found") repeats what the status says. */
function withoutStatus(text: string, status: number): string {
  const rest = text.replace(new RegExp(`^${status}\\b[\\s:.-]*`), '');
  return rest || text;
}
