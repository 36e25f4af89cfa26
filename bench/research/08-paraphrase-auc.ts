/** Paraphrase-vs-unrelated AUC of each embedder on the hand-written pairs the tests use. */
import { DEFAULT_HASHING } from '../../src/memory/embedders/hashing.js';
import { readWordVectors } from '../../src/memory/embedders/word-vectors.js';
import { PARAPHRASES, pairAuc } from '../../test/memory/embedders-pairs.js';
import { makeEmbed, type ResearchEmbedder } from './embedders.js';

const glove = await readWordVectors('/tmp/glove-50000-int8.cwv');
const hs = (dims: number, weight: number) => ({ ...DEFAULT_HASHING, dims, weight, idf: 'stop' as const });
const variants: Record<string, ResearchEmbedder> = {
  hash256: { hash: hs(256, 1), dropStop: true },
  hash512: { hash: hs(512, 1), dropStop: true },
  glove_mean: { glove: { vectors: glove, a: 1e-3, common: 'none', weight: 1, mean: true }, dropStop: true },
  glove_sif: { glove: { vectors: glove, a: 1e-3, common: 'none', weight: 1 } },
  glove_sif_drop: { glove: { vectors: glove, a: 1e-3, common: 'none', weight: 1 }, dropStop: true },
  glove_sif_pc: { glove: { vectors: glove, a: 1e-3, common: 'vocab', weight: 1 } },
  cat_gm_h256_73: { glove: { vectors: glove, a: 1e-3, common: 'none', weight: 0.7, mean: true }, hash: hs(256, 0.3), dropStop: true },
  cat_gm_h256_55: { glove: { vectors: glove, a: 1e-3, common: 'none', weight: 0.5, mean: true }, hash: hs(256, 0.5), dropStop: true },
};
for (const [name, spec] of Object.entries(variants)) {
  const embed = makeEmbed(spec);
  const a = await embed(PARAPHRASES.map((p) => p[0]), 'document');
  const b = await embed(PARAPHRASES.map((p) => p[1]), 'document');
  const dot = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => s + v * (y[i] ?? 0), 0);
  console.log(name.padEnd(20), pairAuc((i, j) => dot(a[i] ?? new Float32Array(), b[j] ?? new Float32Array()), PARAPHRASES.length).toFixed(3));
}
