import { Field, FixedSizeList, Float32, Float64, Int32, Schema, Utf8 } from 'apache-arrow';
import { z } from 'zod';
import { MEMORY_KINDS, type MemoryRecord } from './types.js';

/**
 * Table layouts. Arrow schemas fix the columns LanceDB stores; zod schemas check every row read
 * back, so a corrupt or foreign row fails loudly instead of flowing on as a half-typed object.
 * Timestamps are epoch milliseconds in Float64 (no BigInt handling anywhere).
 */

const text = (name: string, nullable = false) => new Field(name, new Utf8(), nullable);
const float = (name: string, nullable = false) => new Field(name, new Float64(), nullable);

export function memoriesSchema(dimensions: number): Schema {
  return new Schema([
    text('id'),
    text('scope'),
    text('user_id', true),
    text('channel_id', true),
    text('guild_id', true),
    text('kind'),
    text('text'),
    text('speaker', true),
    text('context', true),
    // What the full-text index sees: speaker, context and text together.
    text('search_text'),
    new Field('vector', new FixedSizeList(dimensions, new Field('item', new Float32(), true)), false),
    float('created_at'),
    float('last_access_at'),
    new Field('access_count', new Int32(), false),
    float('expires_at', true),
    new Field('importance', new Float32(), false),
    text('source_run_id', true),
    text('content_hash'),
    text('metadata'),
  ]);
}

/** Memory columns read back (everything but the vector and the derived search text). */
export const MEMORY_COLUMNS = [
  'id',
  'scope',
  'user_id',
  'channel_id',
  'guild_id',
  'kind',
  'text',
  'speaker',
  'context',
  'created_at',
  'last_access_at',
  'access_count',
  'expires_at',
  'importance',
  'source_run_id',
  'content_hash',
  'metadata',
];

const metadataJson = z.string().transform((raw, ctx): Record<string, unknown> => {
  try {
    const value: unknown = JSON.parse(raw);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through to the issue below
  }
  ctx.addIssue({ code: 'custom', message: 'metadata is not a JSON object' });
  return z.NEVER;
});

export const MemoryRow = z
  .object({
    id: z.string(),
    scope: z.string(),
    user_id: z.string().nullable(),
    channel_id: z.string().nullable(),
    guild_id: z.string().nullable(),
    kind: z.enum(MEMORY_KINDS),
    text: z.string(),
    speaker: z.string().nullable(),
    context: z.string().nullable(),
    created_at: z.number(),
    last_access_at: z.number(),
    access_count: z.number(),
    expires_at: z.number().nullable(),
    importance: z.number(),
    source_run_id: z.string().nullable(),
    content_hash: z.string(),
    metadata: metadataJson,
  })
  .transform(
    (r): MemoryRecord => ({
      id: r.id,
      scopeKey: r.scope,
      userId: r.user_id,
      channelId: r.channel_id,
      guildId: r.guild_id,
      kind: r.kind,
      text: r.text,
      speaker: r.speaker,
      context: r.context,
      createdAt: r.created_at,
      lastAccessAt: r.last_access_at,
      accessCount: r.access_count,
      expiresAt: r.expires_at,
      importance: r.importance,
      sourceRunId: r.source_run_id,
      contentHash: r.content_hash,
      metadata: r.metadata,
    }),
  );

export const workingSchema = new Schema([
  text('id'),
  text('scope'),
  text('label'),
  text('text'),
  new Field('char_limit', new Int32(), false),
  float('updated_at'),
]);

export const WorkingRow = z.object({
  id: z.string(),
  scope: z.string(),
  label: z.string(),
  text: z.string(),
  char_limit: z.number().int().positive(),
  updated_at: z.number(),
});
export type WorkingRow = z.output<typeof WorkingRow>;

export const episodesSchema = new Schema([
  text('id'),
  text('goal'),
  text('mode'),
  text('trigger'),
  text('status'),
  text('visibility'),
  text('user_id'),
  text('channel_id', true),
  text('guild_id', true),
  text('steps'),
  text('answer', true),
  text('reason', true),
  float('prompt_tokens'),
  float('completion_tokens'),
  float('cost_usd', true),
  text('feedback'),
  text('lesson_ids'),
  // Lessons this run was given (a 👎 on the run weakens them).
  text('applied_lesson_ids'),
  float('started_at'),
  float('ended_at', true),
]);

export const metaSchema = new Schema([text('key'), text('value')]);

/**
 * What each run and reflection cost, billed to a person (a scheduled run: its creator) and, for a
 * run in a server, to the server too (`user_id` = `guild:<server id>`). The daily budgets are
 * counted from it, so spend survives restarts and is never billed to a schedule's id.
 */
export const spendSchema = new Schema([text('id'), text('user_id'), text('kind'), float('usd'), float('at')]);

export const SpendRow = z.object({ id: z.string(), user_id: z.string(), kind: z.enum(['run', 'reflection']), usd: z.number(), at: z.number() });
export type SpendRow = z.output<typeof SpendRow>;

/** Reflections owed: one row per cause (a 👎 vote, a failed run), so none is lost or done twice. */
export const reflectionsSchema = new Schema([
  text('id'),
  text('run_id'),
  text('cause'),
  text('user_id'),
  text('comment', true),
  text('status'),
  new Field('attempts', new Int32(), false),
  float('next_attempt_at'),
  text('lesson_id', true),
  text('error', true),
  float('created_at'),
]);

export const ReflectionRow = z.object({
  id: z.string(),
  run_id: z.string(),
  cause: z.enum(['down_vote', 'failed', 'stopped']),
  user_id: z.string(),
  comment: z.string().nullable(),
  // working: claimed by a process until next_attempt_at (its lease), then due again if it died.
  status: z.enum(['pending', 'working', 'done']),
  attempts: z.number().int(),
  next_attempt_at: z.number(),
  lesson_id: z.string().nullable(),
  error: z.string().nullable(),
  created_at: z.number(),
});
export type ReflectionRow = z.output<typeof ReflectionRow>;

export const schedulesSchema = new Schema([
  text('id'),
  text('cron'),
  text('timezone'),
  text('goal'),
  text('mode'),
  text('guild_id', true),
  text('channel_id'),
  text('creator_id'),
  text('creator_name', true),
  text('notify'),
  text('status'),
  text('paused_reason', true),
  float('created_at'),
  float('next_run_at', true),
  float('last_run_at', true),
  text('last_run_id', true),
  text('last_status', true),
  text('last_report', true),
  float('last_report_at', true),
  float('last_delivery_at', true),
  text('last_delivery_error', true),
  new Field('consecutive_failures', new Int32(), false),
  float('backoff_until', true),
]);

/**
 * Settings per server, channel and thread (src/settings): one row per scope and key, `id` being
 * `<scope_kind>:<scope_id>:<key>`, the value JSON text checked against its key on every read.
 */
export const settingsSchema = new Schema([
  text('id'),
  text('guild_id'),
  text('scope_kind'),
  text('scope_id'),
  text('key'),
  text('value'),
  text('updated_by'),
  float('updated_at'),
]);

/** SQL string literal for LanceDB filters: the only escaping SQL needs is doubling quotes. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export function sqlList(values: readonly string[]): string {
  return `(${values.map(sqlString).join(', ')})`;
}

/** A JSON text column decoded and checked against `schema`. */
export function jsonOf<S extends z.ZodType>(schema: S) {
  return z.string().transform((raw, ctx): z.output<S> => {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not JSON' });
      return z.NEVER;
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: parsed.error.issues[0]?.message ?? 'invalid' });
      return z.NEVER;
    }
    return parsed.data;
  });
}
