import { Field, Float64, Schema, Utf8 } from 'apache-arrow';
import { z } from 'zod';

/**
 * The `usage` table: one row per finished run and reflection, kept ~400 days for `/usage`. Unlike
 * the `spend` ledger (a few days, only what budgets need), it says what was spent on what, where.
 * Timestamps are epoch milliseconds in Float64, as in every other table.
 */
const text = (name: string, nullable = false) => new Field(name, new Utf8(), nullable);
const float = (name: string, nullable = false) => new Field(name, new Float64(), nullable);

export const usageSchema = new Schema([
  // The run id, or the reflection's id.
  text('id'),
  text('kind'),
  // Who pays: the starter, a scheduled run's creator, the voter behind a reflection.
  text('user_id'),
  text('guild_id', true),
  text('channel_id', true),
  text('schedule_id', true),
  // How the run was started (slash, mention, schedule, cli, …), or what caused a reflection.
  text('trigger'),
  // A private run's goal is shown to nobody but its payer.
  text('visibility'),
  text('goal'),
  float('prompt_tokens'),
  float('completion_tokens'),
  // Null when the model's price is unknown: never a made-up 0.
  float('usd', true),
  float('at'),
]);

export const USAGE_KINDS = ['run', 'reflection'] as const;
export type UsageKind = (typeof USAGE_KINDS)[number];

/** Goals are cut to this many characters when stored. */
export const MAX_USAGE_GOAL_CHARS = 200;

export const UsageRow = z.object({
  id: z.string(),
  kind: z.enum(USAGE_KINDS),
  user_id: z.string(),
  guild_id: z.string().nullable(),
  channel_id: z.string().nullable(),
  schedule_id: z.string().nullable(),
  trigger: z.string(),
  visibility: z.enum(['private', 'channel', 'guild']),
  goal: z.string(),
  prompt_tokens: z.number().nonnegative(),
  completion_tokens: z.number().nonnegative(),
  usd: z.number().nonnegative().nullable(),
  at: z.number(),
});
export type UsageRow = z.output<typeof UsageRow>;
