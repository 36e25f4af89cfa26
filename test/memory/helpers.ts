import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { silentLogger } from '../../src/log.js';
import type { Embedder } from '../../src/memory/embedders/types.js';
import { Memory, type MemoryOptions } from '../../src/memory/memory.js';

/**
 * A small deterministic bag-of-words embedder for storage tests: texts sharing words are close.
 * Recall quality is tested with the real local embedder elsewhere.
 */
export function wordEmbedder(id = 'test-words', dimensions = 64): Embedder {
  return {
    id,
    dimensions,
    embed(texts) {
      return Promise.resolve(
        texts.map((text) => {
          const v = new Float32Array(dimensions);
          for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
            let h = 2166136261;
            for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 16777619);
            const slot = (h >>> 0) % dimensions;
            v[slot] = (v[slot] ?? 0) + 1;
          }
          const norm = Math.hypot(...v) || 1;
          return v.map((x) => x / norm);
        }),
      );
    },
  };
}

/** A temp database directory per test, removed afterwards; memories opened here are closed too. */
export function useTempMemory(): { dir: () => Promise<string>; open: (options?: Partial<MemoryOptions>) => Promise<Memory> } {
  const dirs: string[] = [];
  const opened: Memory[] = [];
  afterEach(async () => {
    for (const memory of opened.splice(0)) await memory.close().catch(() => undefined);
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });
  let current: string | undefined;
  const dir = async () => {
    if (current === undefined || !dirs.includes(current)) {
      current = await mkdtemp(path.join(os.tmpdir(), 'cairn-memory-test-'));
      dirs.push(current);
    }
    return current;
  };
  return {
    dir,
    open: async (options = {}) => {
      const memory = await Memory.open({ uri: await dir(), embedder: wordEmbedder(), log: silentLogger(), ...options });
      opened.push(memory);
      return memory;
    },
  };
}
