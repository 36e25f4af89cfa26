/**
 * The `settings` table: one row per scope and key. Rows are checked twice on the way back: the
 * row's shape here, the value against its key's definition by the caller (src/settings/service.ts).
 */
import { z } from 'zod';
import { withCommitRetry, type Table } from '../memory/db.js';
import { sqlString } from '../memory/schema.js';
import { SCOPE_KINDS, type ScopeKind } from './types.js';

/** A stored override, its value decoded from JSON but not yet checked against its key. */
export interface SettingRecord {
  id: string;
  guildId: string;
  scopeKind: ScopeKind;
  scopeId: string;
  /** Any text: a key this version does not know is reported by the caller, not here. */
  key: string;
  value: unknown;
  updatedBy: string;
  updatedAt: number;
}

const SNOWFLAKE = /^\d{17,20}$/;

/** The row id: one value per scope and key, so a write replaces the previous one. */
export const settingId = (scopeKind: ScopeKind, scopeId: string, key: string) => `${scopeKind}:${scopeId}:${key}`;

const jsonText = z.string().transform((raw, ctx): unknown => {
  try {
    return JSON.parse(raw);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'value is not JSON' });
    return z.NEVER;
  }
});

export const SettingRow = z
  .object({
    id: z.string(),
    guild_id: z.string().regex(SNOWFLAKE),
    scope_kind: z.enum(SCOPE_KINDS),
    scope_id: z.string().regex(SNOWFLAKE),
    key: z.string().max(64),
    value: jsonText,
    updated_by: z.string(),
    updated_at: z.number(),
  })
  // The id is what writes and resets match on: a row whose id disagrees with its columns is foreign.
  .refine((r) => r.id === settingId(r.scope_kind, r.scope_id, r.key), { error: 'id does not match scope_kind:scope_id:key' })
  .refine((r) => r.scope_kind !== 'guild' || r.scope_id === r.guild_id, { error: 'a server-wide row must have scope_id = guild_id' })
  .transform(
    (r): SettingRecord => ({
      id: r.id,
      guildId: r.guild_id,
      scopeKind: r.scope_kind,
      scopeId: r.scope_id,
      key: r.key,
      value: r.value,
      updatedBy: r.updated_by,
      updatedAt: r.updated_at,
    }),
  );

/** A row that did not parse: its id when it has one, and why. */
export interface BadRow {
  id: string;
  guildId: string | null;
  reason: string;
}

const Loose = z.looseObject({ id: z.unknown(), guild_id: z.unknown() });

function describeBad(row: unknown, error: z.ZodError): BadRow {
  const loose = Loose.safeParse(row);
  const id = loose.success && typeof loose.data.id === 'string' ? loose.data.id.slice(0, 120) : '(no id)';
  const guildId = loose.success && typeof loose.data.guild_id === 'string' ? loose.data.guild_id : null;
  const issue = error.issues[0];
  const reason = issue === undefined ? 'invalid row' : `${issue.path.join('.') || 'row'}: ${issue.message}`;
  return { id, guildId, reason };
}

export class SettingsStore {
  constructor(private readonly table: Table) {}

  /** Every row, newest state (another process may have written): parsed ones and bad ones apart. */
  async loadAll(): Promise<{ records: SettingRecord[]; bad: BadRow[] }> {
    await this.table.checkoutLatest();
    const rows: unknown[] = await this.table.query().toArray();
    const records: SettingRecord[] = [];
    const bad: BadRow[] = [];
    for (const row of rows) {
      const parsed = SettingRow.safeParse(row);
      if (parsed.success) records.push(parsed.data);
      else bad.push(describeBad(row, parsed.error));
    }
    return { records, bad };
  }

  /**
   * Runs `work` in the table's write queue (one write at a time in this process, commit
   * conflicts with other processes retried), so a check and the write after it do not interleave.
   */
  serialized<T>(work: () => Promise<T>): Promise<T> {
    return withCommitRetry(this.table, work);
  }

  /** Inserts or replaces the row with this id. Call inside `serialized`. */
  async put(record: SettingRecord): Promise<void> {
    const row = {
      id: record.id,
      guild_id: record.guildId,
      scope_kind: record.scopeKind,
      scope_id: record.scopeId,
      key: record.key,
      value: JSON.stringify(record.value),
      updated_by: record.updatedBy,
      updated_at: record.updatedAt,
    };
    await this.table.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute([row]);
  }

  /** Deletes the row with this id, if any. Call inside `serialized`. */
  async remove(id: string): Promise<void> {
    await this.table.delete(`id = ${sqlString(id)}`);
  }
}
