/**
 * Approval requests waiting for a person, kept in LanceDB so that they outlive the process: a
 * run resumed after a restart waits on the request it posted before (same buttons, same
 * deadline) instead of asking again, and a press that arrives while no process waits for it is
 * kept until the run gets there. A request goes once it is decided or its run ends.
 */
import { Field, Float64, Schema, Utf8 } from 'apache-arrow';
import { z } from 'zod';
import type { ApprovalDecision } from '../agent/approval.js';
import type { Logger } from '../log.js';
import { pendingWrites, withCommitRetry, type Table } from '../memory/db.js';
import { GroupCommitter } from '../memory/group-commit.js';
import { jsonOf, sqlString } from '../memory/schema.js';
import { tableUpkeep } from '../memory/table-upkeep.js';
import type { OpenTable } from '../runs/store.js';

export const PENDING_APPROVALS_TABLE = 'pending_approvals';
/** Requests past their deadline this long are dropped at start (their runs have moved on or ended). */
export const STALE_APPROVAL_MS = 86_400_000;

const text = (name: string, nullable = false) => new Field(name, new Utf8(), nullable);
export const pendingApprovalsSchema = new Schema([
  text('key'),
  text('token'),
  text('run_id'),
  text('starter_id'),
  text('tool'),
  new Field('deadline', new Float64(), false),
  text('posted', true),
  text('decision', true),
]);

/** Where a request was posted, for editing it once decided (null: an ephemeral message only its interaction could edit). */
export interface PostedRef {
  channelId: string;
  messageId: string;
}

export interface StoredApproval {
  /** The run and the tool call it is for. */
  key: string;
  /** What its buttons carry. */
  token: string;
  runId: string;
  starterId: string;
  tool: string;
  /** When no answer means "timed out" (epoch ms). */
  deadline: number;
  /**
   * Whether the request reached Discord, and where: it is saved before it is posted, so a process
   * that dies in between leaves `sent: false` and the resumed run posts it again (same buttons).
   */
  posted: { sent: boolean; ref: PostedRef | null };
  /** A press that came while no process was waiting for it. */
  decision: ApprovalDecision | null;
}

const Posted = z.object({ sent: z.boolean(), ref: z.object({ channelId: z.string(), messageId: z.string() }).nullable() });
const Decision = z.object({ outcome: z.enum(['approved', 'denied', 'timed_out', 'unavailable']), by: z.string().nullable() });

const Row = z
  .object({
    key: z.string(),
    token: z.string(),
    run_id: z.string(),
    starter_id: z.string(),
    tool: z.string(),
    deadline: z.number(),
    posted: jsonOf(Posted),
    decision: jsonOf(Decision).nullable(),
  })
  .transform(
    (row): StoredApproval => ({
      key: row.key,
      token: row.token,
      runId: row.run_id,
      starterId: row.starter_id,
      tool: row.tool,
      deadline: row.deadline,
      posted: row.posted,
      decision: row.decision,
    }),
  );

/** The key of a run's request for one tool call. */
export function approvalKey(runId: string, callId: string): string {
  return `${runId}\u0000${callId}`;
}

export class PendingApprovalStore {
  private opened: Promise<{ table: Table; write: GroupCommitter }> | undefined;

  constructor(
    private readonly open: OpenTable,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  private async db(): Promise<{ table: Table; write: GroupCommitter }> {
    this.opened ??= this.open(PENDING_APPROVALS_TABLE, pendingApprovalsSchema).then(
      async (table) => {
        await withCommitRetry(table, () => table.delete(`deadline < ${this.now() - STALE_APPROVAL_MS}`));
        return { table, write: new GroupCommitter(table, 'key') };
      },
      (error: unknown) => {
        this.opened = undefined;
        throw error;
      },
    );
    return this.opened;
  }

  async save(approval: StoredApproval): Promise<void> {
    const { write } = await this.db();
    const row = {
      key: approval.key,
      token: approval.token,
      run_id: approval.runId,
      starter_id: approval.starterId,
      tool: approval.tool,
      deadline: approval.deadline,
      posted: JSON.stringify(approval.posted),
      decision: approval.decision === null ? null : JSON.stringify(approval.decision),
    };
    await write.put(approval.key, row);
  }

  async byKey(key: string): Promise<StoredApproval | undefined> {
    return this.find(`key = ${sqlString(key)}`);
  }

  async byToken(token: string): Promise<StoredApproval | undefined> {
    return this.find(`token = ${sqlString(token)}`);
  }

  /** Keeps a press for the run to pick up; false when the request is gone or was decided already. */
  async decide(key: string, decision: ApprovalDecision): Promise<boolean> {
    const { write } = await this.db();
    let kept = false;
    await write.apply(key, (current) => {
      if (current === undefined || current.decision !== null) return null;
      kept = true;
      return { ...current, decision: JSON.stringify(decision) };
    });
    return kept;
  }

  async remove(key: string): Promise<void> {
    const { table, write } = await this.db();
    await write.idle();
    await withCommitRetry(table, () => table.delete(`key = ${sqlString(key)}`));
    tableUpkeep.noteCommit(table);
  }

  async close(): Promise<void> {
    const opened = await this.opened?.catch(() => undefined);
    await opened?.write.idle();
  }

  private async find(where: string): Promise<StoredApproval | undefined> {
    const { table } = await this.db();
    await pendingWrites(table);
    const rows: unknown[] = await table.query().where(where).limit(1).toArray();
    if (rows[0] === undefined) return undefined;
    const parsed = Row.safeParse(rows[0]);
    if (parsed.success) return parsed.data;
    this.log.warn({ issue: parsed.error.issues[0]?.message }, 'a stored approval request is malformed and was skipped');
    return undefined;
  }
}
