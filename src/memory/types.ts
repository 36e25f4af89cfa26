/** Memory vocabulary shared by the store, recall, tools and surfaces. */

export const MEMORY_KINDS = ['turn', 'fact', 'note', 'lesson', 'report'] as const;
export type MemoryKind = (typeof MEMORY_KINDS)[number];

/**
 * Who a run acts for and where. Memories visible to a run are the user's own (private), the
 * channel's and the guild's — never another user's private ones.
 */
export interface RunScope {
  userId: string;
  /** How the user is called in conversation (stored as the speaker of their turns). */
  userName?: string;
  channelId?: string;
  guildId?: string;
}

/** Where a memory lives; decides who can recall it. */
export type Visibility = 'private' | 'channel' | 'guild';

/** The scope keys a run may read, most specific first. */
export function readableScopes(scope: RunScope): string[] {
  const keys = [`user:${scope.userId}`];
  if (scope.channelId !== undefined) keys.push(`channel:${scope.channelId}`);
  if (scope.guildId !== undefined) keys.push(`guild:${scope.guildId}`);
  return keys;
}

/** The scope key a new memory is written to. Falls back to private where the place is unknown. */
export function scopeKeyFor(scope: RunScope, visibility: Visibility): string {
  if (visibility === 'channel' && scope.channelId !== undefined) return `channel:${scope.channelId}`;
  if (visibility === 'guild' && scope.guildId !== undefined) return `guild:${scope.guildId}`;
  return `user:${scope.userId}`;
}

export interface MemoryInput {
  text: string;
  kind: MemoryKind;
  scope: RunScope;
  visibility: Visibility;
  /** Who said or wrote it (for turns: the speaker's display name), indexed with the text. */
  speaker?: string;
  /** Surrounding text (e.g. the previous turn) indexed with the text so short turns can be found. */
  context?: string;
  /** When it happened; default now. */
  createdAt?: Date;
  /** Time to live; after it the memory is no longer recalled and is deleted. */
  ttlMs?: number;
  /** 0..1, how much it matters; eviction removes the least valuable first. */
  importance?: number;
  sourceRunId?: string;
  metadata?: Record<string, unknown>;
}

export interface MemoryRecord {
  id: string;
  scopeKey: string;
  userId: string | null;
  channelId: string | null;
  guildId: string | null;
  kind: MemoryKind;
  text: string;
  speaker: string | null;
  context: string | null;
  createdAt: number;
  lastAccessAt: number;
  accessCount: number;
  expiresAt: number | null;
  importance: number;
  sourceRunId: string | null;
  contentHash: string;
  metadata: Record<string, unknown>;
}

/** Why a memory ranked where it did. */
export interface ScoreExplanation {
  vectorRank: number | null;
  /** Cosine similarity to the query (1 = same direction). */
  similarity: number | null;
  textRank: number | null;
  /** BM25 score from the full-text index. */
  bm25: number | null;
  /** Reciprocal rank fusion of the two ranks. */
  fused: number;
  /** Multiplier from recency and importance (1 = none). */
  boost: number;
  final: number;
}

export interface RecallHit {
  memory: MemoryRecord;
  score: number;
  explanation: ScoreExplanation;
}
