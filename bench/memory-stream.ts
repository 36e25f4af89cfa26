/**
 * bench:memory's stream phase: single saves arriving at a fixed rate (as conversation turns do on
 * a busy server) while recalls run back to back, into a table already holding `size` memories.
 * Open loop: a save starts on schedule whether or not the previous ones have finished (at most
 * MAX_IN_FLIGHT at once), and its latency counts from its scheduled start, so a backlog shows.
 * Every 5 s it reads how many rows the vector and full-text indexes have not folded in yet:
 * whether background maintenance keeps up, or falls further behind.
 */
import type { Memory } from '../src/memory/memory.js';
import type { MemoryInput } from '../src/memory/types.js';
import { percentile, round } from './stats.js';

const MAX_IN_FLIGHT = 256;
const SAMPLE_EVERY_MS = 5_000;

export interface StreamResult {
  targetPerSec: number;
  achievedPerSec: number;
  saveP50Ms: number;
  saveP95Ms: number;
  recallP50Ms: number;
  recallP95Ms: number;
  recalls: number;
  /** Rows not yet in the vector / full-text index, sampled every 5 s: bounded means maintenance keeps up. */
  unindexedSamples: { vector: number; text: number }[];
  /** After the stream stops: until maintenance has folded everything in. */
  catchUpMs: number;
}

export interface StreamInputs {
  memory: Memory;
  ratePerSec: number;
  seconds: number;
  turn: (i: number) => MemoryInput;
  query: (i: number) => string;
  scopes: string[];
}


/** What Memory.stats() reads too, without its row counts by kind and table, which would add load to every sample. */
async function unindexed(memory: Memory): Promise<{ vector: number; text: number }> {
  const counts = { vector: 0, text: 0 };
  for (const index of await memory.db.memories.listIndices()) {
    const which = index.columns.includes('vector') ? 'vector' : index.columns.includes('search_text') ? 'text' : null;
    if (which === null) continue;
    counts[which] = (await memory.db.memories.indexStats(index.name))?.numUnindexedRows ?? 0;
  }
  return counts;
}

export async function streamPhase(inputs: StreamInputs): Promise<StreamResult> {
  const { memory, ratePerSec, seconds } = inputs;
  const total = Math.round(ratePerSec * seconds);
  const intervalMs = 1_000 / ratePerSec;
  const saves: number[] = [];
  const recalls: number[] = [];
  const samples: { vector: number; text: number }[] = [];
  const inFlight = new Set<Promise<void>>();
  const stop = new AbortController();
  const recallLoop = (async () => {
    for (let i = 0; !stop.signal.aborted; i++) {
      const t0 = performance.now();
      await memory.semantic.recall({ query: inputs.query(i), scopes: inputs.scopes, limit: 10 });
      recalls.push(performance.now() - t0);
    }
  })();
  const sampling: Promise<unknown>[] = [];
  const sampler = setInterval(() => {
    sampling.push(unindexed(memory).then((s) => samples.push(s)));
  }, SAMPLE_EVERY_MS);
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
    const save: Promise<void> = memory.semantic.save(inputs.turn(i)).then(() => {
      saves.push(performance.now() - due);
      inFlight.delete(save);
    });
    inFlight.add(save);
  }
  await Promise.all(inFlight);
  const elapsedS = (performance.now() - started) / 1_000;
  stop.abort();
  clearInterval(sampler);
  await Promise.all([recallLoop, ...sampling]);
  const catchUpStarted = performance.now();
  await memory.maintenance.refreshIndexes();
  const catchUpMs = performance.now() - catchUpStarted;
  return {
    targetPerSec: ratePerSec,
    achievedPerSec: round(total / elapsedS),
    saveP50Ms: round(percentile(saves, 0.5)),
    saveP95Ms: round(percentile(saves, 0.95)),
    recallP50Ms: round(percentile(recalls, 0.5)),
    recallP95Ms: round(percentile(recalls, 0.95)),
    recalls: recalls.length,
    unindexedSamples: samples,
    catchUpMs: Math.round(catchUpMs),
  };
}
