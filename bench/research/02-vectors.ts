/** Vector search alone, per embedder and turn text; then fused with the best BM25 by RRF. */
import { DEFAULT_HASHING } from '../../src/memory/embedders/hashing.js';
import { readWordVectors } from '../../src/memory/embedders/word-vectors.js';
import { makeEmbed, type ResearchEmbedder } from './embedders.js';
import { evaluate, fuseAll, loadData, row, searchAll } from './harness.js';
import { recipe, recipes } from './recipes.js';

const data = await loadData();
const glove = await readWordVectors(process.env.GLOVE ?? '/tmp/glove-full.cwv');
const embedders: Record<string, ResearchEmbedder> = {
  hash256_stop: { hash: { ...DEFAULT_HASHING, dims: 256, weight: 1, idf: 'stop' } },
  hash512_stop: { hash: { ...DEFAULT_HASHING, dims: 512, weight: 1, idf: 'stop' } },
  hash512_rank: { hash: { ...DEFAULT_HASHING, dims: 512, weight: 1, idf: 'rank' }, glove: undefined },
  hash512_nochar: { hash: { ...DEFAULT_HASHING, dims: 512, charWeight: 0, weight: 1, idf: 'stop' } },
  glove_mean: { glove: { vectors: glove, a: 1e-3, common: 'none', weight: 1, mean: true }, dropStop: true },
  glove_sif: { glove: { vectors: glove, a: 1e-3, common: 'none', weight: 1 } },
  glove_sif_pc: { glove: { vectors: glove, a: 1e-3, common: 'vocab', weight: 1 } },
  glove_sif_pc_a3e4: { glove: { vectors: glove, a: 3e-4, common: 'vocab', weight: 1 } },
  glove_sif_pc_a1e4: { glove: { vectors: glove, a: 1e-4, common: 'vocab', weight: 1 } },
  concat256: {
    glove: { vectors: glove, a: 1e-3, common: 'vocab', weight: 1 },
    hash: { ...DEFAULT_HASHING, dims: 256, weight: 1, idf: 'rank' },
  },
  concat412: {
    glove: { vectors: glove, a: 1e-3, common: 'vocab', weight: 1 },
    hash: { ...DEFAULT_HASHING, dims: 412, weight: 1, idf: 'rank' },
  },
};
// hash512_rank needs ranks from the word list even without the GloVe part.
const rankOnly = embedders.hash512_rank;
if (rankOnly) rankOnly.glove = { vectors: glove, a: 1e-3, common: 'none', weight: 0 };

const args = process.argv.slice(2);
const recipeNames = ['speaker_caption_prev', 'speaker_caption'];
const bm25 = await searchAll('bm25.date_speaker_caption_prev.default', data, { recipe: recipes.date_speaker_caption_prev, fts: {}, limit: 100 });
for (const rname of recipeNames) {
  for (const [ename, spec] of Object.entries(embedders)) {
    if (args.length > 0 && !args.some((a) => `${rname}/${ename}`.includes(a))) continue;
    const name = `vec.${rname}.${ename}`;
    const t0 = performance.now();
    const { vector } = await searchAll(name, data, { recipe: recipe(rname), embed: makeEmbed(spec), limit: 100 });
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(row(`${name} (${secs}s)`, evaluate(data, vector ?? [])));
    console.log(row(`  rrf60 + bm25.dsc_prev`, evaluate(data, fuseAll([bm25.fts ?? [], vector ?? []], 60))));
  }
}
