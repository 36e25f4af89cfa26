import * as lancedb from '@lancedb/lancedb';
import type { Table } from './db.js';

/**
 * Which indexes the memories table gets, and when they are rebuilt. Scalar indexes serve every
 * save's dedupe lookup (content_hash), every fetch by id, and recall's scope and kind filters.
 */
export const SCALAR_INDEXES: [string, () => lancedb.Index][] = [
  ['scope', () => lancedb.Index.bitmap()],
  ['kind', () => lancedb.Index.bitmap()],
  ['id', () => lancedb.Index.btree()],
  ['content_hash', () => lancedb.Index.btree()],
];

// Stemmed, English stop words removed, lower-cased, accents folded; no positions (no phrase queries).
export const textIndex = () => lancedb.Index.fts({ withPosition: false, stem: true, removeStopWords: true, lowercase: true, asciiFolding: true });

/**
 * The approximate vector index for `rows` rows: HNSW graphs over scalar-quantised vectors, in
 * IVF partitions of up to ~500k rows (one graph per partition; a query probes them all at this
 * count). A new index config each time: createIndex consumes it.
 */
export function vectorIndex(rows: number): lancedb.Index {
  return lancedb.Index.hnswSq({ distanceType: 'cosine', numPartitions: Math.max(1, Math.round(rows / 500_000)) });
}

export async function hasTextIndex(table: Table): Promise<boolean> {
  return (await table.listIndices()).some((i) => i.columns.includes('search_text'));
}

/** Whether any index of `table` has rows it does not cover yet. */
export async function hasUnindexedRows(table: Table): Promise<boolean> {
  for (const index of await table.listIndices()) {
    if (((await table.indexStats(index.name))?.numUnindexedRows ?? 0) > 0) return true;
  }
  return false;
}

/** The last build of the vector index: how many rows it covered, when it ended, how long it took. */
export interface VectorIndexBuild {
  rows: number;
  endedAt: number;
  tookMs: number;
}

/**
 * Share of the time rebuilds that only merge segments may take: every optimize adds a segment
 * (a plain LanceDB probe: 2, 3 … 9 segments after 8 optimizes), and at 100k rows a rebuild
 * takes seconds while writes keep adding segments. Above this share the segments wait.
 */
export const SEGMENT_REBUILD_DUTY = 0.2;

/**
 * When the vector index is rebuilt (retrained on the rows it now has): partitions trained on a
 * much smaller table fit it badly (`growth`), and every query searches every segment folding
 * adds (three segments made 100k-row recall ~40 % slower), so past `maxSegments` it is merged
 * by a rebuild too when `mayMergeSegments` (see segmentRebuildAllowed).
 */
export async function vectorIndexStale(
  table: Table,
  rows: number,
  builtAtRows: number,
  options: { maxSegments: number; growth: number; mayMergeSegments: boolean },
): Promise<boolean> {
  const name = (await table.listIndices()).find((i) => i.columns.includes('vector'))?.name;
  if (name === undefined) return true;
  if (rows >= options.growth * builtAtRows) return true;
  if (!options.mayMergeSegments) return false;
  const segments = (await table.indexStats(name))?.numIndices ?? 1;
  return segments > options.maxSegments;
}

/** Whether a rebuild now keeps segment-merging rebuilds within SEGMENT_REBUILD_DUTY of the time. */
export function segmentRebuildAllowed(last: VectorIndexBuild, now: number): boolean {
  return now - last.endedAt >= last.tookMs * (1 / SEGMENT_REBUILD_DUTY - 1);
}
