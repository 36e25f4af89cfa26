import { z } from 'zod';
import { withCommitRetry, type Table } from './db.js';
import { sqlList, sqlString, WorkingRow } from './schema.js';
import { tableUpkeep } from './table-upkeep.js';
import type { RunScope } from './types.js';

/** A small labelled note always shown to the model, with its size and limit. */
export interface WorkingBlock {
  scopeKey: string;
  label: string;
  text: string;
  charLimit: number;
  updatedAt: number | null;
}

/** The blocks every run sees, even before anything is written to them. */
export const DEFAULT_BLOCKS = [
  { scope: 'user', label: 'user profile', charLimit: 2_000 },
  { scope: 'channel', label: 'channel notes', charLimit: 4_000 },
] as const;

const MAX_BLOCKS_PER_SCOPE = 8;
const CUSTOM_BLOCK_LIMIT = 2_000;
const LabelSchema = z
  .string()
  .trim()
  .min(1)
  .max(40)
  .regex(/^[\p{L}\p{N} _-]+$/u, { error: 'labels use letters, digits, spaces, - and _' });

export class WorkingMemoryError extends Error {}

const WorkingRows = z.array(WorkingRow);

/**
 * Working memory: per-user and per-channel blocks with a character limit enforced on every
 * write. Writes to one block are serialised in this process (read, change, write), so two
 * concurrent appends both land. Cairn runs as one process per database; see README.
 */
export class WorkingMemory {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly table: Table,
    private readonly now: () => number = Date.now,
  ) {}

  /** The blocks a run sees: defaults for its user and channel, plus any others written there. */
  async blocksFor(scope: RunScope): Promise<WorkingBlock[]> {
    const keys = [`user:${scope.userId}`, ...(scope.channelId === undefined ? [] : [`channel:${scope.channelId}`])];
    const rows = WorkingRows.parse(await this.table.query().where(`scope IN ${sqlList(keys)}`).toArray());
    const blocks: WorkingBlock[] = [];
    for (const key of keys) {
      const kind = key.startsWith('user:') ? 'user' : 'channel';
      for (const def of DEFAULT_BLOCKS.filter((d) => d.scope === kind)) {
        const row = rows.find((r) => r.scope === key && r.label === def.label);
        blocks.push(row === undefined ? { scopeKey: key, label: def.label, text: '', charLimit: def.charLimit, updatedAt: null } : toBlock(row));
      }
      for (const row of rows.filter((r) => r.scope === key && !DEFAULT_BLOCKS.some((d) => d.label === r.label))) {
        blocks.push(toBlock(row));
      }
    }
    return blocks;
  }

  async view(scopeKey: string, label: string): Promise<WorkingBlock> {
    return (await this.read(scopeKey, LabelSchema.parse(label))) ?? this.empty(scopeKey, label);
  }

  /** Adds text at the end of a block (on a new line). Refused if the block would exceed its limit. */
  append(scopeKey: string, label: string, text: string): Promise<WorkingBlock> {
    return this.change(scopeKey, label, (current) => (current === '' ? text.trim() : `${current}\n${text.trim()}`));
  }

  /** Replaces one exact, unique occurrence of `oldText` (an empty `newText` deletes it). */
  replace(scopeKey: string, label: string, oldText: string, newText: string): Promise<WorkingBlock> {
    return this.change(scopeKey, label, (current) => {
      if (oldText === '') throw new WorkingMemoryError('old_text is empty: quote the exact text to replace.');
      const first = current.indexOf(oldText);
      if (first === -1) throw new WorkingMemoryError(`"${oldText}" does not occur in block "${label}"; view the block and quote its text exactly.`);
      if (current.indexOf(oldText, first + 1) !== -1) {
        throw new WorkingMemoryError(`"${oldText}" occurs more than once in block "${label}"; quote more of the surrounding text so it is unique.`);
      }
      return current.slice(0, first) + newText + current.slice(first + oldText.length);
    });
  }

  /** Sets the whole text of a block (for administrators and the CLI). */
  set(scopeKey: string, label: string, text: string): Promise<WorkingBlock> {
    return this.change(scopeKey, label, () => text);
  }

  private change(scopeKey: string, rawLabel: string, edit: (current: string) => string): Promise<WorkingBlock> {
    const label = LabelSchema.parse(rawLabel);
    const key = `${scopeKey}|${label}`;
    const previous = this.locks.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(async () => {
      const current = (await this.read(scopeKey, label)) ?? (await this.newBlock(scopeKey, label));
      const text = edit(current.text).trim();
      if (text.length > current.charLimit) {
        throw new WorkingMemoryError(
          `Block "${label}" would hold ${text.length} characters, over its limit of ${current.charLimit}. ` +
            'Shorten it first (replace old text with a summary), then try again.',
        );
      }
      const row = { id: key, scope: scopeKey, label, text, char_limit: current.charLimit, updated_at: this.now() };
      await withCommitRetry(this.table, () => this.table.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute([row]));
      tableUpkeep.noteCommit(this.table);
      return toBlock(row);
    });
    this.locks.set(key, next);
    void next.finally(() => {
      if (this.locks.get(key) === next) this.locks.delete(key);
    }).catch(() => undefined);
    return next;
  }

  private async read(scopeKey: string, label: string): Promise<WorkingBlock | undefined> {
    const rows = await this.table.query().where(`id = ${sqlString(`${scopeKey}|${label}`)}`).limit(1).toArray();
    return rows[0] === undefined ? undefined : toBlock(WorkingRow.parse(rows[0]));
  }

  private empty(scopeKey: string, label: string): WorkingBlock {
    const def = DEFAULT_BLOCKS.find((d) => d.label === label && scopeKey.startsWith(`${d.scope}:`));
    return { scopeKey, label, text: '', charLimit: def?.charLimit ?? CUSTOM_BLOCK_LIMIT, updatedAt: null };
  }

  private async newBlock(scopeKey: string, label: string): Promise<WorkingBlock> {
    const isDefault = DEFAULT_BLOCKS.some((d) => d.label === label && scopeKey.startsWith(`${d.scope}:`));
    if (!isDefault && (await this.table.countRows(`scope = ${sqlString(scopeKey)}`)) >= MAX_BLOCKS_PER_SCOPE) {
      throw new WorkingMemoryError(`There are already ${MAX_BLOCKS_PER_SCOPE} blocks here; write into an existing block instead.`);
    }
    return this.empty(scopeKey, label);
  }

  async forgetScope(scopeKey: string): Promise<number> {
    const count = await this.table.countRows(`scope = ${sqlString(scopeKey)}`);
    await withCommitRetry(this.table, () => this.table.delete(`scope = ${sqlString(scopeKey)}`));
    return count;
  }
}

function toBlock(row: WorkingRow): WorkingBlock {
  return { scopeKey: row.scope, label: row.label, text: row.text, charLimit: row.char_limit, updatedAt: row.updated_at };
}
