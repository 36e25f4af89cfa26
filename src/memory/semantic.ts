import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../log.js';
import { EmbedderMismatchError, withCommitRetry, type MemoryDb } from './db.js';
import { existingIds, MemoryInserter, type InsertOutcome } from './insert-if-absent.js';
import type { Embedder } from './embedders/types.js';
import type { Maintenance } from './maintenance.js';
import { searchText, vectorText } from './indexed-text.js';
import { HybridRecall, type RecallQuery } from './recall.js';
import { MEMORY_COLUMNS, MemoryRow, sqlList, sqlString } from './schema.js';
import { MEMORY_KINDS, scopeKeyFor, type MemoryInput, type MemoryRecord, type RecallHit } from './types.js';

export type { RecallQuery } from './recall.js';
export { searchText, vectorText } from './indexed-text.js';

export const MAX_MEMORY_CHARS = 8_000;

const MemoryInputSchema = z.object({
  text: z
    .string()
    .trim()
    .min(1, { error: 'a memory needs some text' })
    .max(MAX_MEMORY_CHARS, { error: `a memory is at most ${MAX_MEMORY_CHARS} characters` }),
  kind: z.enum(MEMORY_KINDS),
  importance: z.number().min(0).max(1).optional(),
  ttlMs: z.number().positive().optional(),
  context: z.string().max(MAX_MEMORY_CHARS).optional(),
  speaker: z.string().max(200).optional(),
});

const MemoryRows = z.array(MemoryRow);


export interface SaveResult {
  id: string;
  created: boolean;
}

/**
 * Same content in the same scope is stored once. Turns are events, not facts: the same words
 * said again at another time by someone else are a new turn.
 */
function contentHash(scopeKey: string, input: MemoryInput, createdAt: number): string {
  const normalised = input.text.trim().replace(/\s+/g, ' ').toLowerCase();
  const event = input.kind === 'turn' ? `\u0000${input.speaker ?? ''}\u0000${createdAt}` : '';
  return createHash('sha256').update(`${scopeKey}\u0000${input.kind}\u0000${normalised}${event}`).digest('hex');
}

export function newMemoryId(): string {
  return `m-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Facts, notes, lessons, reports and conversation turns, found by hybrid vector + BM25 recall. */
export class SemanticMemory {
  constructor(
    private readonly db: MemoryDb,
    private readonly embedder: Embedder,
    private readonly maintenance: Maintenance,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.recaller = new HybridRecall(db, embedder, maintenance, now);
    this.inserter = new MemoryInserter(db.uri, () => db.memories);
  }

  private readonly recaller: HybridRecall;
  private readonly inserter: MemoryInserter;

  /** Opened for maintenance with another embedder: vectors would not be comparable. */
  private assertEmbedderMatches(): void {
    const stored = this.db.embedder;
    if (stored.id !== this.embedder.id || stored.dimensions !== this.embedder.dimensions) {
      throw new EmbedderMismatchError(stored, this.embedder);
    }
  }

  async save(input: MemoryInput): Promise<SaveResult> {
    const [result] = await this.saveMany([input]);
    if (result === undefined) throw new Error('memory save returned nothing');
    return result;
  }

  /** Saves a batch with one embedding call and one commit; duplicates keep their existing id. */
  async saveMany(inputs: readonly MemoryInput[], signal?: AbortSignal): Promise<SaveResult[]> {
    if (inputs.length === 0) return [];
    this.assertEmbedderMatches();
    const now = this.now();
    const prepared = inputs.map((input) => {
      const checked = MemoryInputSchema.safeParse(input);
      if (!checked.success) throw new Error(`Cannot save memory: ${checked.error.issues.map((i) => i.message).join('; ')}.`);
      const scopeKey = scopeKeyFor(input.scope, input.visibility);
      const createdAt = input.createdAt?.getTime() ?? now;
      return { input: { ...input, text: checked.data.text }, scopeKey, createdAt, hash: contentHash(scopeKey, input, createdAt) };
    });
    // Content already stored is neither embedded nor written again (embedding may cost money).
    // A turn's hash includes its time, so only a retried save repeats one: the check under the
    // write lock catches that, and the hot path of saving turns makes one lookup, not two.
    const worthChecking = [...new Set(prepared.filter((p) => p.input.kind !== 'turn').map((p) => p.hash))];
    const existing = await existingIds(this.db.memories, worthChecking);
    const fresh = new Map<string, (typeof prepared)[number] & { id: string }>();
    for (const p of prepared) if (!existing.has(p.hash) && !fresh.has(p.hash)) fresh.set(p.hash, { ...p, id: newMemoryId() });
    const toInsert = [...fresh.values()];
    const stored: InsertOutcome = new Map();
    if (toInsert.length > 0) {
      const vectors = await this.embedder.embed(
        toInsert.map((p) => vectorText(p.input)),
        { purpose: 'document', ...(signal === undefined ? {} : { signal }) },
      );
      const rows = toInsert.map((p, i) => ({
        id: p.id,
        scope: p.scopeKey,
        user_id: p.input.scope.userId,
        channel_id: p.input.scope.channelId ?? null,
        guild_id: p.input.scope.guildId ?? null,
        kind: p.input.kind,
        text: p.input.text,
        speaker: p.input.speaker ?? null,
        context: p.input.context ?? null,
        search_text: searchText(p.input, p.createdAt),
        vector: Array.from(vectors[i] ?? []),
        created_at: p.createdAt,
        last_access_at: p.createdAt,
        access_count: 0,
        expires_at: p.input.ttlMs === undefined ? null : now + p.input.ttlMs,
        importance: p.input.importance ?? (p.input.kind === 'lesson' ? 0.8 : 0.5),
        source_run_id: p.input.sourceRunId ?? null,
        content_hash: p.hash,
        metadata: JSON.stringify(p.input.metadata ?? {}),
      }));
      // Insert-if-absent under a write lock: a concurrent save of the same content, in this
      // process or another, cannot duplicate it (it gets the stored id instead).
      for (const [hash, outcome] of await this.inserter.insert(rows)) stored.set(hash, outcome);
      this.maintenance.noteInserted([...stored.values()].filter((o) => o.inserted).length);
    }
    const reported = new Set<string>();
    return prepared.map((p) => {
      const id = existing.get(p.hash) ?? stored.get(p.hash)?.id;
      if (id === undefined) throw new Error('memory id lost during save');
      // Only the first copy of content this call stored counts as created.
      const created = stored.get(p.hash)?.inserted === true && !reported.has(p.hash);
      reported.add(p.hash);
      return { id, created };
    });
  }

  /** Hybrid vector + full-text recall (see recall.ts). */
  async recall(query: RecallQuery, signal?: AbortSignal): Promise<RecallHit[]> {
    this.assertEmbedderMatches();
    return await this.recaller.recall(query, signal);
  }

  async get(id: string): Promise<MemoryRecord | undefined> {
    const rows = await this.db.memories.query().where(`id = ${sqlString(id)}`).select(MEMORY_COLUMNS).limit(1).toArray();
    return rows[0] === undefined ? undefined : MemoryRow.parse(rows[0]);
  }

  /** Newest first; for listings and exports. */
  async list(where: string, limit = 100): Promise<MemoryRecord[]> {
    const rows = await this.db.memories.query().where(where).select(MEMORY_COLUMNS).limit(limit).toArray();
    return MemoryRows.parse(rows).sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Scales the importance of memories (e.g. lessons followed by 👎), within 0..1. */
  async weaken(ids: readonly string[], factor: number): Promise<void> {
    if (ids.length === 0) return;
    await withCommitRetry(this.db.memories, () =>
      this.db.memories.update({ where: `id IN ${sqlList(ids)}`, valuesSql: { importance: `GREATEST(0, LEAST(1, importance * ${factor}))` } }),
    );
  }

  async forget(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const before = await this.db.memories.countRows(`id IN ${sqlList(ids)}`);
    await withCommitRetry(this.db.memories, () => this.db.memories.delete(`id IN ${sqlList(ids)}`));
    this.log.info({ count: before }, 'memories forgotten');
    return before;
  }

  /** Everything written by or kept privately for a user. */
  static userFilter(userId: string): string {
    return `(user_id = ${sqlString(userId)} OR scope = ${sqlString(`user:${userId}`)})`;
  }

  async count(where?: string): Promise<number> {
    return this.db.memories.countRows(where);
  }
}
