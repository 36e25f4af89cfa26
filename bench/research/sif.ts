/**
 * Smooth inverse frequency (SIF, Arora et al. 2017) sentence vectors from static word vectors:
 * a weighted mean where frequent words count little, minus the direction all sentences share.
 * Word frequencies come from the word list's rank (Zipf), so no corpus statistics are needed.
 */
import type { WordVectors } from '../../src/memory/embedders/word-vectors.js';

/** Harmonic number of the ~400k-word list the ranks come from: Zipf's normaliser. */
const ZIPF_NORMALISER = Math.log(400_000) + 0.5772;

/** Estimated probability of the word at 0-based `rank` under Zipf's law. */
export function zipfProbability(rank: number): number {
  return 1 / ((rank + 1) * ZIPF_NORMALISER);
}

/** SIF weight a / (a + p(w)); words outside the list are rare, so they weigh 1. */
export function sifWeight(rank: number | undefined, a: number): number {
  if (rank === undefined) return 1;
  return a / (a + zipfProbability(rank));
}

/**
 * The shared direction to remove, fitted once on the word list itself rather than on any corpus:
 * the first principal direction (uncentred) of the most frequent words' vectors, each scaled by
 * its SIF weight × sqrt(frequency) — the mass those words carry in ordinary sentences.
 */
export function commonDirection(vectors: WordVectors, a: number, topWords = 20_000): Float32Array {
  const { dims, matrix } = vectors;
  const rows = Math.min(topWords, matrix.length / dims);
  const cov = new Float64Array(dims * dims);
  const row = new Float64Array(dims);
  for (let r = 0; r < rows; r++) {
    const scale = sifWeight(r, a) * Math.sqrt(zipfProbability(r));
    for (let d = 0; d < dims; d++) row[d] = (matrix[r * dims + d] ?? 0) * scale;
    for (let i = 0; i < dims; i++) {
      const ri = row[i] ?? 0;
      for (let j = 0; j < dims; j++) cov[i * dims + j] = (cov[i * dims + j] ?? 0) + ri * (row[j] ?? 0);
    }
  }
  return powerIteration(cov, dims);
}

/** Top eigenvector of a symmetric positive semi-definite matrix; deterministic start. */
export function powerIteration(matrix: Float64Array, dims: number, iterations = 200): Float32Array {
  let v = new Float64Array(dims).fill(1 / Math.sqrt(dims));
  for (let it = 0; it < iterations; it++) {
    const next = new Float64Array(dims);
    for (let i = 0; i < dims; i++) {
      let s = 0;
      for (let j = 0; j < dims; j++) s += (matrix[i * dims + j] ?? 0) * (v[j] ?? 0);
      next[i] = s;
    }
    const norm = Math.hypot(...next);
    if (norm === 0) break;
    for (let i = 0; i < dims; i++) next[i] = (next[i] ?? 0) / norm;
    v = next;
  }
  return Float32Array.from(v);
}

/**
 * Adds the SIF vector of `tokens` into out[offset, offset + dims), unit length (or zeros when no
 * token is known). `common` is removed before normalising.
 */
export function addSifVector(
  tokens: readonly string[],
  vectors: WordVectors,
  a: number,
  common: Float32Array | undefined,
  out: Float32Array,
  offset: number,
): boolean {
  const { dims, index, matrix } = vectors;
  const acc = new Float64Array(dims);
  let known = 0;
  for (const token of tokens) {
    const rank = index.get(token);
    if (rank === undefined) continue;
    const w = sifWeight(rank, a);
    const base = rank * dims;
    for (let d = 0; d < dims; d++) acc[d] = (acc[d] ?? 0) + w * (matrix[base + d] ?? 0);
    known++;
  }
  if (known === 0) return false;
  if (common !== undefined) {
    let dot = 0;
    for (let d = 0; d < dims; d++) dot += (acc[d] ?? 0) * (common[d] ?? 0);
    for (let d = 0; d < dims; d++) acc[d] = (acc[d] ?? 0) - dot * (common[d] ?? 0);
  }
  let norm = 0;
  for (let d = 0; d < dims; d++) norm += (acc[d] ?? 0) ** 2;
  norm = Math.sqrt(norm);
  if (norm === 0) return false;
  for (let d = 0; d < dims; d++) out[offset + d] = (out[offset + d] ?? 0) + (acc[d] ?? 0) / norm;
  return true;
}
