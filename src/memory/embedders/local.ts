/**
 * The offline embedder ("local-v1"): the mean GloVe vector of a text's content words (100
 * dims, meaning: "puppy" is near "dog") concatenated with feature-hashed words, word pairs and
 * character n-grams (256 dims, surface form: names, code tokens and words GloVe lacks).
 * Chosen on LoCoMo, where it beat hashing alone, SIF weighting and wider hashing when fused with
 * BM25; bench/research/ holds the experiments.
 */
import { fileURLToPath } from 'node:url';
import { addHashedFeatures, type HashingOptions } from './hashing.js';
import { STOP_WORDS, tokenize } from './tokenize.js';
import type { Embedder } from './types.js';
import { readWordVectors, type WordVectors } from './word-vectors.js';

/** GloVe 6B 100-d, top 50k words, int8: see data/README.md for where it comes from. */
export const DEFAULT_WORD_VECTORS_PATH = fileURLToPath(new URL('./data/glove-50k.cwv', import.meta.url));

const HASHING: HashingOptions = { dims: 256, bigramWeight: 0.5, charWeight: 1, charMin: 3, charMax: 5 };
/** Share of each part after both are unit length; 0.7/0.3 measured best of 1/0, 0.8/0.2, 0.7/0.3, 0.5/0.5. */
const WORD_VECTOR_WEIGHT = 0.7;
const HASH_WEIGHT = 0.3;

export class LocalEmbedder implements Embedder {
  /** Bump on any change to tokenizing, weights, the word list or the hashing: stored vectors become stale. */
  readonly id = 'local-v1';
  readonly dimensions: number;
  /**
   * Suggested weight of the vector list against BM25 (1) in rank fusion: static vectors are a
   * weaker ranker than BM25 on their own, so they break ties and add recall rather than lead.
   */
  readonly fusionWeight = 0.4;
  private readonly wordDims: number;

  constructor(private readonly words: WordVectors) {
    this.wordDims = words.dims;
    this.dimensions = words.dims + HASHING.dims;
  }

  embed(texts: readonly string[], options?: { signal?: AbortSignal; purpose?: 'query' | 'document' }): Promise<Float32Array[]> {
    // Queries and documents are embedded alike: both sides drop the same function words.
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('embedding aborted'));
    return Promise.resolve(texts.map((text) => this.embedOne(text)));
  }

  embedOne(text: string): Float32Array {
    const all = tokenize(text);
    const content = all.filter((t) => !STOP_WORDS.has(t));
    // "Yes, me too!" has no content word; its function words are still better than nothing.
    const tokens = content.length > 0 ? content : all;
    const out = new Float32Array(this.dimensions);
    this.addMeanWordVector(tokens, out);
    const hashed = new Float32Array(HASHING.dims);
    addHashedFeatures(tokens, () => 1, HASHING, hashed, 0);
    const hashNorm = norm(hashed);
    if (hashNorm > 0) for (let d = 0; d < HASHING.dims; d++) out[this.wordDims + d] = ((hashed[d] ?? 0) / hashNorm) * HASH_WEIGHT;
    const total = norm(out);
    if (total === 0) {
      // Empty text: any fixed unit vector keeps the output normalised and deterministic.
      out[0] = 1;
      return out;
    }
    for (let d = 0; d < out.length; d++) out[d] = (out[d] ?? 0) / total;
    return out;
  }

  private addMeanWordVector(tokens: readonly string[], out: Float32Array): void {
    const { dims, index, matrix } = this.words;
    const acc = new Float32Array(dims);
    let known = 0;
    for (const token of tokens) {
      const row = index.get(token);
      if (row === undefined) continue;
      const base = row * dims;
      for (let d = 0; d < dims; d++) acc[d] = (acc[d] ?? 0) + (matrix[base + d] ?? 0);
      known++;
    }
    const n = norm(acc);
    if (known === 0 || n === 0) return;
    for (let d = 0; d < dims; d++) out[d] = ((acc[d] ?? 0) / n) * WORD_VECTOR_WEIGHT;
  }
}

function norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

/** Loads the word list (~5.6 MB, tens of milliseconds) and returns the embedder. */
export async function loadLocalEmbedder(wordVectorsPath: string = DEFAULT_WORD_VECTORS_PATH): Promise<LocalEmbedder> {
  return new LocalEmbedder(await readWordVectors(wordVectorsPath));
}
