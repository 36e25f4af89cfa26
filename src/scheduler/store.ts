import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AgentMode } from '../agent/events.js';
import { pendingWrites, withCommitRetry, type Table } from '../memory/db.js';
import type { Logger } from '../log.js';
import { sqlString } from '../memory/schema.js';

export const NOTIFY_POLICIES = ['always', 'on-change', 'on-failure'] as const;
export type NotifyPolicy = (typeof NOTIFY_POLICIES)[number];
export type RunOutcome = 'succeeded' | 'failed' | 'stopped';

/** A goal run on a cron schedule, and what became of its last run and delivery. */
export interface Schedule {
  id: string;
  cron: string;
  timeZone: string;
  goal: string;
  mode: AgentMode;
  guildId: string | null;
  channelId: string;
  creatorId: string;
  creatorName: string | null;
  notify: NotifyPolicy;
  status: 'active' | 'paused';
  /** Why it was paused by Cairn (repeated failures, a lost channel); null when paused by a person or active. */
  pausedReason: string | null;
  createdAt: number;
  /** When it is next due; a start-up after this time means a run was missed while down. */
  nextRunAt: number | null;
  lastRunAt: number | null;
  lastRunId: string | null;
  lastStatus: RunOutcome | null;
  /** The last successful report, for on-change comparisons and as context for the next run. */
  lastReport: string | null;
  lastReportAt: number | null;
  lastDeliveryAt: number | null;
  lastDeliveryError: string | null;
  consecutiveFailures: number;
  /** After failures, cron firings before this time are skipped. */
  backoffUntil: number | null;
}

const nullable = <T extends z.ZodType>(schema: T) => schema.nullable().optional().transform((v) => v ?? null);

const ScheduleRow = z
  .object({
    id: z.string(),
    cron: z.string(),
    timezone: z.string(),
    goal: z.string(),
    mode: z.enum(['react', 'plan', 'reflexion']),
    guild_id: nullable(z.string()),
    channel_id: z.string(),
    creator_id: z.string(),
    creator_name: nullable(z.string()),
    notify: z.enum(NOTIFY_POLICIES),
    status: z.enum(['active', 'paused']),
    paused_reason: nullable(z.string()),
    created_at: z.number(),
    next_run_at: nullable(z.number()),
    last_run_at: nullable(z.number()),
    last_run_id: nullable(z.string()),
    last_status: nullable(z.enum(['succeeded', 'failed', 'stopped'])),
    last_report: nullable(z.string()),
    last_report_at: nullable(z.number()),
    last_delivery_at: nullable(z.number()),
    last_delivery_error: nullable(z.string()),
    consecutive_failures: z.number().int(),
    backoff_until: nullable(z.number()),
  })
  .transform(
    (r): Schedule => ({
      id: r.id,
      cron: r.cron,
      timeZone: r.timezone,
      goal: r.goal,
      mode: r.mode,
      guildId: r.guild_id,
      channelId: r.channel_id,
      creatorId: r.creator_id,
      creatorName: r.creator_name,
      notify: r.notify,
      status: r.status,
      pausedReason: r.paused_reason,
      createdAt: r.created_at,
      nextRunAt: r.next_run_at,
      lastRunAt: r.last_run_at,
      lastRunId: r.last_run_id,
      lastStatus: r.last_status,
      lastReport: r.last_report,
      lastReportAt: r.last_report_at,
      lastDeliveryAt: r.last_delivery_at,
      lastDeliveryError: r.last_delivery_error,
      consecutiveFailures: r.consecutive_failures,
      backoffUntil: r.backoff_until,
    }),
  );
const ScheduleRows = z.array(ScheduleRow);

function toRow(s: Schedule): Record<string, unknown> {
  return {
    id: s.id,
    cron: s.cron,
    timezone: s.timeZone,
    goal: s.goal,
    mode: s.mode,
    guild_id: s.guildId,
    channel_id: s.channelId,
    creator_id: s.creatorId,
    creator_name: s.creatorName,
    notify: s.notify,
    status: s.status,
    paused_reason: s.pausedReason,
    created_at: s.createdAt,
    next_run_at: s.nextRunAt,
    last_run_at: s.lastRunAt,
    last_run_id: s.lastRunId,
    last_status: s.lastStatus,
    last_report: s.lastReport,
    last_report_at: s.lastReportAt,
    last_delivery_at: s.lastDeliveryAt,
    last_delivery_error: s.lastDeliveryError,
    consecutive_failures: s.consecutiveFailures,
    backoff_until: s.backoffUntil,
  };
}

/** What a new schedule is made of; everything else starts as never run, active, with no failures. */
export type ScheduleFields = Pick<Schedule, 'id' | 'cron' | 'timeZone' | 'goal' | 'mode' | 'guildId' | 'channelId' | 'creatorId' | 'creatorName' | 'notify' | 'createdAt' | 'nextRunAt'>;

export function freshSchedule(fields: ScheduleFields): Schedule {
  return {
    ...fields,
    status: 'active',
    pausedReason: null,
    lastRunAt: null,
    lastRunId: null,
    lastStatus: null,
    lastReport: null,
    lastReportAt: null,
    lastDeliveryAt: null,
    lastDeliveryError: null,
    consecutiveFailures: 0,
    backoffUntil: null,
  };
}

/** Short ids people can type: six base-36 characters. */
export function newScheduleId(): string {
  return BigInt(`0x${randomBytes(5).toString('hex')}`).toString(36).padStart(6, '0').slice(-6);
}

/** A SQL literal for one column value (LanceDB `valuesSql`). */
function sqlValue(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return sqlString(value);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new Error(`cannot store ${typeof value} in the schedules table`);
}

/**
 * Schedules in the `schedules` table. Every write is queued and retried like other tables';
 * every read first moves to the table's latest version, because the terminal (`cairn schedule`)
 * may have changed it from another process and LanceDB does not look by default.
 */
export class ScheduleStore {
  constructor(
    private readonly table: Table,
    private readonly log?: Logger,
  ) {}

  async add(schedule: Schedule): Promise<void> {
    await withCommitRetry(this.table, () => this.table.add([toRow(schedule)]));
  }

  async get(id: string): Promise<Schedule | undefined> {
    await pendingWrites(this.table);
    return this.read(id);
  }

  /** Oldest first. A row that does not parse is logged and left out, so one bad row cannot stop the bot. */
  async list(where?: string): Promise<Schedule[]> {
    await pendingWrites(this.table);
    await this.table.checkoutLatest();
    const query = this.table.query();
    const rows: unknown[] = await (where === undefined ? query : query.where(where)).toArray();
    const schedules: Schedule[] = [];
    for (const row of rows) {
      const parsed = ScheduleRow.safeParse(row);
      if (parsed.success) schedules.push(parsed.data);
      else this.log?.error({ issues: parsed.error.issues.slice(0, 3) }, 'a stored schedule does not parse; skipping it');
    }
    return schedules.sort((a, b) => a.createdAt - b.createdAt);
  }

  /**
   * Changes a schedule: reads it, applies `change`, and writes only the changed columns, all
   * inside the table's write queue, so concurrent updates (a run finishing while someone pauses
   * it) do not overwrite each other, and a row removed meanwhile is not brought back. Returns the
   * new schedule, or undefined when it no longer exists.
   */
  async update(id: string, change: (current: Schedule) => Partial<Schedule>): Promise<Schedule | undefined> {
    return withCommitRetry(this.table, async () => {
      const current = await this.read(id);
      if (current === undefined) return undefined;
      const next: Schedule = { ...current, ...change(current), id };
      const before = toRow(current);
      const after = toRow(next);
      const values: Record<string, string> = {};
      for (const [column, value] of Object.entries(after)) if (value !== before[column]) values[column] = sqlValue(value);
      if (Object.keys(values).length > 0) await this.table.update({ where: `id = ${sqlString(id)}`, valuesSql: values });
      return next;
    });
  }

  async remove(id: string): Promise<boolean> {
    return withCommitRetry(this.table, async () => {
      await this.table.checkoutLatest();
      const count = await this.table.countRows(`id = ${sqlString(id)}`);
      if (count > 0) await this.table.delete(`id = ${sqlString(id)}`);
      return count > 0;
    });
  }

  private async read(id: string): Promise<Schedule | undefined> {
    await this.table.checkoutLatest();
    const rows = await this.table.query().where(`id = ${sqlString(id)}`).limit(1).toArray();
    return ScheduleRows.parse(rows)[0];
  }
}
