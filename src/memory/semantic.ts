import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../log.js';
import { withCommitRetry, type MemoryDb } from './db.js';
import type { Embedder } from './embedders/types.js';
import { boostFor, DEFAULT_FUSION, reciprocalRankFusion, type FusionOptions } from './fusion.js';
import type { Maintenance } from './maintenance.js';
import { MEMORY_COLUMNS, MemoryRow, sqlList, sqlString } from './schema.js';
import { MEMORY_KINDS, scopeKeyFor, type MemoryInput, type MemoryKind, type MemoryRecord, type RecallHit } from './types.js';

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

export interface RecallQuery {
  query: string;
  /** Scope keys the caller may read (see readableScopes). */
  scopes: readonly string[];
  kinds?: readonly MemoryKind[];
  /** Only memories created in [since, until) (epoch ms). */
  since?: number;
  until?: number;
  limit?: number;
  /** Candidates taken from each of the vector and full-text lists before fusing. */
  overFetch?: number;
  /** Favour recent memories (episodic recall); undefined ranks by relevance alone. */
  recencyHalfLifeMs?: number;
  fusion?: FusionOptions;
}

export interface SaveResult {
  id: string;
  created: boolean;
}

/** What the full-text index and the embedder see: who said it, the text, and its context. */
export function documentText(input: Pick<MemoryInput, 'text' | 'speaker' | 'context'>): string {
  const said = input.speaker === undefined ? input.text : `${input.speaker}: ${input.text}`;
  return input.context === undefined || input.context === '' ? said : `${said}\n${input.context}`;
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
  ) {}

  async save(input: MemoryInput): Promise<SaveResult> {
    const [result] = await this.saveMany([input]);
    if (result === undefined) throw new Error('memory save returned nothing');
    return result;
  }

  /** Saves a batch with one embedding call and one commit; duplicates keep their existing id. */
  async saveMany(inputs: readonly MemoryInput[], signal?: AbortSignal): Promise<SaveResult[]> {
    if (inputs.length === 0) return [];
    const now = this.now();
    const prepared = inputs.map((input) => {
      const checked = MemoryInputSchema.safeParse(input);
      if (!checked.success) throw new Error(`Cannot save memory: ${checked.error.issues.map((i) => i.message).join('; ')}.`);
      const scopeKey = scopeKeyFor(input.scope, input.visibility);
      const createdAt = input.createdAt?.getTime() ?? now;
      return { input: { ...input, text: checked.data.text }, scopeKey, createdAt, hash: contentHash(scopeKey, input, createdAt) };
    });
    const hashes = [...new Set(prepared.map((p) => p.hash))];
    const existing = new Map<string, string>();
    const found = await this.db.memories.query().where(`content_hash IN ${sqlList(hashes)}`).select(['id', 'content_hash']).toArray();
    for (const row of z.array(z.object({ id: z.string(), content_hash: z.string() })).parse(found)) existing.set(row.content_hash, row.id);

    const fresh = new Map<string, (typeof prepared)[number] & { id: string }>();
    for (const p of prepared) if (!existing.has(p.hash) && !fresh.has(p.hash)) fresh.set(p.hash, { ...p, id: newMemoryId() });
    const toInsert = [...fresh.values()];
    if (toInsert.length > 0) {
      const vectors = await this.embedder.embed(
        toInsert.map((p) => documentText(p.input)),
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
        search_text: documentText(p.input),
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
      // Insert-if-absent on the hash: a concurrent save of the same content cannot duplicate it.
      const result = await withCommitRetry(() =>
        this.db.memories.mergeInsert('content_hash').whenNotMatchedInsertAll().execute(rows),
      );
      this.maintenance.noteInserted(result.numInsertedRows);
    }
    const reported = new Set<string>();
    return prepared.map((p) => {
      const id = existing.get(p.hash) ?? fresh.get(p.hash)?.id;
      if (id === undefined) throw new Error('memory id lost during save');
      // Only the first copy of new content in this batch counts as created.
      const created = !existing.has(p.hash) && !reported.has(p.hash);
      reported.add(p.hash);
      return { id, created };
    });
  }

  async recall(query: RecallQuery, signal?: AbortSignal): Promise<RecallHit[]> {
    const limit = query.limit ?? 8;
    if (query.scopes.length === 0 || query.query.trim() === '') return [];
    const overFetch = query.overFetch ?? Math.max(50, limit * 4);
    const now = this.now();
    const filter = this.filter(query, now);
    const [vector] = await this.embedder.embed([query.query], { purpose: 'query', ...(signal === undefined ? {} : { signal }) });
    const table = this.db.memories;
    const [vectorRows, textRows] = await Promise.all([
      table
        .vectorSearch(Array.from(vector ?? []))
        .distanceType('cosine')
        .where(filter)
        .select([...MEMORY_COLUMNS, '_distance'])
        .limit(overFetch)
        .toArray(),
      this.textSearch(query.query, filter, overFetch),
    ]);
    const records = new Map<string, MemoryRecord>();
    const vectorHits = vectorRows.map((row: unknown) => {
      const record = MemoryRow.parse(row);
      records.set(record.id, record);
      return { id: record.id, distance: z.object({ _distance: z.number() }).parse(row)._distance };
    });
    const textHits = textRows.map((row: unknown) => {
      const record = MemoryRow.parse(row);
      records.set(record.id, record);
      return { id: record.id, score: z.object({ _score: z.number() }).parse(row)._score };
    });
    // LanceDB returns full-text matches in storage order, not by score: rank them ourselves.
    vectorHits.sort((a, b) => a.distance - b.distance);
    textHits.sort((a, b) => b.score - a.score);
    const fused = reciprocalRankFusion(vectorHits, textHits, query.fusion ?? DEFAULT_FUSION);
    const hits: RecallHit[] = [];
    for (const [id, score] of fused) {
      const memory = records.get(id);
      if (memory === undefined) continue;
      const boost = boostFor({
        ageMs: now - memory.createdAt,
        importance: memory.importance,
        recencyHalfLifeMs: query.recencyHalfLifeMs,
        recencyWeight: 0.5,
      });
      hits.push({ memory, score: score.fused * boost, explanation: { ...score, boost, final: score.fused * boost } });
    }
    hits.sort((a, b) => b.score - a.score);
    const top = hits.slice(0, limit);
    this.maintenance.noteAccessed(top.map((h) => h.memory.id));
    return top;
  }

  private async textSearch(text: string, filter: string, limit: number): Promise<unknown[]> {
    // Only words go to the full-text parser; punctuation carries no meaning for BM25 here.
    const words = text.replace(/[^\p{L}\p{N}\s'-]+/gu, ' ').trim();
    if (words === '') return [];
    return this.db.memories
      .query()
      .fullTextSearch(words, { columns: ['search_text'] })
      .where(filter)
      .select([...MEMORY_COLUMNS, '_score'])
      .limit(limit)
      .toArray();
  }

  private filter(query: RecallQuery, now: number): string {
    const parts = [`scope IN ${sqlList(query.scopes)}`, `(expires_at IS NULL OR expires_at > ${now})`];
    if (query.kinds !== undefined && query.kinds.length > 0) parts.push(`kind IN ${sqlList(query.kinds)}`);
    if (query.since !== undefined) parts.push(`created_at >= ${query.since}`);
    if (query.until !== undefined) parts.push(`created_at < ${query.until}`);
    return parts.join(' AND ');
  }

  async get(id: string): Promise<MemoryRecord | undefined> {
    const rows = await this.db.memories.query().where(`id = ${sqlString(id)}`).select(MEMORY_COLUMNS).limit(1).toArray();
    return rows[0] === undefined ? undefined : MemoryRow.parse(rows[0]);
  }

  /** Newest first; for listings and exports. */
  async list(where: string, limit = 100): Promise<MemoryRecord[]> {
    const rows = await this.db.memories.query().where(where).select(MEMORY_COLUMNS).limit(limit).toArray();
    return z.array(MemoryRow).parse(rows).sort((a, b) => b.createdAt - a.createdAt);
  }

  async forget(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const before = await this.db.memories.countRows(`id IN ${sqlList(ids)}`);
    await withCommitRetry(() => this.db.memories.delete(`id IN ${sqlList(ids)}`));
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
