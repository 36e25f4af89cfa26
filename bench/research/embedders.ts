/** Research embedders built from the local embedder's parts, with their knobs exposed. */
import { addHashedFeatures, type HashingOptions } from '../../src/memory/embedders/hashing.js';
import { addSifVector, commonDirection, sifWeight } from './sif.js';
import { STOP_WORDS, tokenize } from '../../src/memory/embedders/tokenize.js';
import type { WordVectors } from '../../src/memory/embedders/word-vectors.js';
import type { EmbedFn } from './harness.js';

export interface ResearchEmbedder {
  hash?: HashingOptions & { weight: number; idf: 'stop' | 'rank' | 'none' };
  glove?: { vectors: WordVectors; a: number; common: 'vocab' | 'none' | Float32Array; weight: number; mean?: boolean };
  /** Drop stop words before embedding (both sides). */
  dropStop?: boolean;
  /** When set, text after the first newline is context: embedded apart and added with this weight. */
  contextWeight?: number;
}

export function makeEmbed(spec: ResearchEmbedder): EmbedFn {
  const g = spec.glove;
  const common = g === undefined || g.common === 'none' ? undefined : g.common === 'vocab' ? commonDirection(g.vectors, g.a) : g.common;
  const hashDims = spec.hash?.dims ?? 0;
  const gloveDims = g?.vectors.dims ?? 0;
  const dims = hashDims + gloveDims;
  const weightOf = (t: string): number => {
    const h = spec.hash;
    if (!h || h.idf === 'none') return 1;
    if (h.idf === 'stop') return STOP_WORDS.has(t) ? 0.1 : 1;
    return sifWeight(g?.vectors.index.get(t), 1e-3);
  };
  const one = (text: string): Float32Array => {
      let tokens = tokenize(text);
      if (spec.dropStop) tokens = tokens.filter((t) => !STOP_WORDS.has(t));
      const out = new Float32Array(dims);
      if (g) {
        const part = new Float32Array(gloveDims);
        const a = g.mean ? 1e9 : g.a;
        if (addSifVector(tokens, g.vectors, a, common, part, 0)) for (let d = 0; d < gloveDims; d++) out[d] = (part[d] ?? 0) * g.weight;
      }
      if (spec.hash) {
        const part = new Float32Array(hashDims);
        addHashedFeatures(tokens, weightOf, spec.hash, part, 0);
        const n = Math.hypot(...part);
        if (n > 0) for (let d = 0; d < hashDims; d++) out[gloveDims + d] = ((part[d] ?? 0) / n) * spec.hash.weight;
      }
      const norm = Math.hypot(...out);
      if (norm > 0) for (let d = 0; d < dims; d++) out[d] = (out[d] ?? 0) / norm;
      else out[0] = 1;
      return out;
  };
  return (texts) =>
    texts.map((text) => {
      const cut = text.indexOf('\n');
      if (spec.contextWeight === undefined || cut < 0) return one(text);
      const main = one(text.slice(0, cut));
      const ctx = one(text.slice(cut + 1));
      const out = main.map((v, d) => v + (spec.contextWeight ?? 0) * (ctx[d] ?? 0));
      const norm = Math.hypot(...out);
      return out.map((v) => v / norm);
    });
}
