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

/**
 * When the vector index is rebuilt (retrained on the rows it now has): folding new rows into
 * it adds a segment each time and every query searches every segment (three segments made
 * 100k-row recall ~40 % slower); and partitions trained on a much smaller table fit it badly.
 */
export async function vectorIndexStale(table: Table, rows: number, builtAtRows: number, options: { maxSegments: number; growth: number }): Promise<boolean> {
  const name = (await table.listIndices()).find((i) => i.columns.includes('vector'))?.name;
  if (name === undefined) return true;
  const segments = (await table.indexStats(name))?.numIndices ?? 1;
  return segments > options.maxSegments || rows >= options.growth * builtAtRows;
}
