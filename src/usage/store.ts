import { z } from 'zod';
import { withCommitRetry, type MemoryDb, type Table } from '../memory/db.js';
import { GroupCommitter } from '../memory/group-commit.js';
import type { Visibility } from '../memory/types.js';
import { sqlList, sqlString } from '../memory/schema.js';
import { clip } from '../text.js';
import { MAX_USAGE_GOAL_CHARS, UsageRow, usageSchema, type UsageKind } from './schema.js';

/** Rows older than this are dropped at start: a year and a bit covers "this month" a year on. */
export const USAGE_KEEP_MS = 400 * 86_400_000;

/** One finished run or reflection, as recorded. */
export interface UsageEntry {
  id: string;
  kind: UsageKind;
  /** Who pays for it. */
  userId: string;
  guildId: string | null;
  channelId: string | null;
  scheduleId: string | null;
  trigger: string;
  visibility: Visibility;
  goal: string;
  promptTokens: number;
  completionTokens: number;
  /** Null when the cost is unknown. */
  usd: number | null;
  at: number;
}

/** Where usage is recorded: the agent's after-run hook and the reflector write through this. */
export interface UsageLog {
  record(entry: UsageEntry): Promise<void>;
}

/** What totals need of a row: no goals, no places. */
const FigureColumns = ['kind', 'usd', 'prompt_tokens', 'completion_tokens', 'at'] as const;
const ServerColumns = [...FigureColumns, 'id', 'user_id', 'schedule_id'] as const;
const FigureRows = z.array(UsageRow.pick({ kind: true, usd: true, prompt_tokens: true, completion_tokens: true, at: true }));
const ServerRows = z.array(UsageRow.pick({ kind: true, usd: true, prompt_tokens: true, completion_tokens: true, at: true, id: true, user_id: true, schedule_id: true }));
const GoalRows = z.array(UsageRow.pick({ id: true, goal: true, visibility: true }));

export type FigureRow = z.output<typeof FigureRows>[number];
export type ServerUsageRow = z.output<typeof ServerRows>[number];

/**
 * The `usage` table. Reads are bounded to one person's or one server's rows since a given time
 * (this month), and read only the columns they show; every row read back is checked.
 */
export class UsageStore implements UsageLog {
  /** Runs ending together share a commit (one row each, keyed by run or reflection id). */
  private readonly writer: GroupCommitter;

  private constructor(private readonly table: Table) {
    this.writer = new GroupCommitter(table, 'id');
  }

  static async open(db: MemoryDb): Promise<UsageStore> {
    return new UsageStore(await db.table('usage', usageSchema));
  }

  async record(entry: UsageEntry): Promise<void> {
    const row: UsageRow = {
      id: entry.id,
      kind: entry.kind,
      user_id: entry.userId,
      guild_id: entry.guildId,
      channel_id: entry.channelId,
      schedule_id: entry.scheduleId,
      trigger: entry.trigger,
      visibility: entry.visibility,
      goal: clip(entry.goal, MAX_USAGE_GOAL_CHARS),
      prompt_tokens: entry.promptTokens,
      completion_tokens: entry.completionTokens,
      usd: entry.usd,
      at: entry.at,
    };
    await this.writer.put(row.id, row);
  }

  /** Drops rows older than ~400 days (at start). */
  async prune(now: number): Promise<void> {
    await withCommitRetry(this.table, () => this.table.delete(`at < ${now - USAGE_KEEP_MS}`));
  }

  /** What one person paid for since `since` (epoch ms), everywhere. */
  async forUser(userId: string, since: number): Promise<FigureRow[]> {
    return FigureRows.parse(await this.table.query().where(`user_id = ${sqlString(userId)} AND at >= ${since}`).select([...FigureColumns]).toArray());
  }

  /** What was spent in one server since `since` (epoch ms): never any other server's rows. */
  async forServer(guildId: string, since: number): Promise<ServerUsageRow[]> {
    return ServerRows.parse(await this.table.query().where(`guild_id = ${sqlString(guildId)} AND at >= ${since}`).select([...ServerColumns]).toArray());
  }

  /** The goals of a few runs of one server (the top runs by cost), by id. */
  async goals(guildId: string, ids: readonly string[]): Promise<Map<string, { goal: string; visibility: Visibility }>> {
    if (ids.length === 0) return new Map();
    const rows = GoalRows.parse(
      await this.table
        .query()
        .where(`guild_id = ${sqlString(guildId)} AND id IN ${sqlList(ids)}`)
        .select(['id', 'goal', 'visibility'])
        .limit(ids.length * 2)
        .toArray(),
    );
    return new Map(rows.map((r) => [r.id, { goal: r.goal, visibility: r.visibility }]));
  }
}
