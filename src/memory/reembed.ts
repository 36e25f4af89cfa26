import type { RecordBatch } from 'apache-arrow';
import { z } from 'zod';
import { withCommitRetry } from './db.js';
import type { Memory } from './memory.js';
import { MEMORY_COLUMNS, MemoryRow } from './schema.js';
import { vectorText } from './indexed-text.js';

export interface ReembedProgress {
  done: number;
  total: number;
}

export interface ReembedResult {
  from: string;
  to: string;
  memories: number;
}

const BATCH = 256;

/**
 * Re-embeds every memory with the memory's current embedder into a new table, then makes it
 * the active one. The old table stays in charge until the very last step, so an interrupted
 * re-embed loses nothing and can simply be run again. Stop the bot while it runs.
 */
export async function reembed(memory: Memory, onProgress?: (progress: ReembedProgress) => void): Promise<ReembedResult> {
  const { db, embedder } = memory;
  const from = `${db.embedder.id} (${db.embedder.dimensions} dimensions)`;
  const to = `${embedder.id} (${embedder.dimensions} dimensions)`;
  const total = await db.memories.countRows();
  const target = await db.createMemoriesTable(embedder.dimensions);
  let done = 0;
  try {
    // Raw rows are copied as stored; only the vector is recomputed.
    for await (const batch of db.memories.query().select([...MEMORY_COLUMNS, 'search_text']) as AsyncIterable<RecordBatch>) {
      const rows = z.array(z.record(z.string(), z.unknown())).parse(batch.toArray().map((row: { toJSON(): unknown }) => row.toJSON()));
      for (let i = 0; i < rows.length; i += BATCH) {
        const slice = rows.slice(i, i + BATCH);
        const records = slice.map((row) => MemoryRow.parse(row));
        const vectors = await embedder.embed(
          records.map((r) => vectorText({ text: r.text, ...(r.speaker === null ? {} : { speaker: r.speaker }), ...(r.context === null ? {} : { context: r.context }) })),
          { purpose: 'document' },
        );
        await withCommitRetry(target, () => target.add(slice.map((row, j) => ({ ...row, vector: Array.from(vectors[j] ?? []) }))));
        done += slice.length;
        onProgress?.({ done, total });
      }
    }
  } catch (error) {
    await db.connection.dropTable(target.name).catch(() => undefined);
    throw error;
  }
  await db.switchMemoriesTable(target, { id: embedder.id, dimensions: embedder.dimensions });
  await memory.maintenance.runAll();
  return { from, to, memories: done };
}
