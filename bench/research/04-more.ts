/** Second round: stop-word-free GloVe means, concatenations, context weighting, vocabulary size. */
import { DEFAULT_HASHING } from '../../src/memory/embedders/hashing.js';
import { readWordVectors } from '../../src/memory/embedders/word-vectors.js';
import { makeEmbed, type ResearchEmbedder } from './embedders.js';
import { evaluate, fuseAll, loadData, row, searchAll } from './harness.js';
import { recipe, recipes } from './recipes.js';

const data = await loadData();
const glove = await readWordVectors(process.env.GLOVE ?? '/tmp/glove-full.cwv');
const small = process.env.GLOVE_SMALL ? await readWordVectors(process.env.GLOVE_SMALL) : undefined;
const gm = (weight = 1, v = glove) => ({ vectors: v, a: 1e-3, common: 'none' as const, weight, mean: true });
const hs = (dims: number, weight: number) => ({ ...DEFAULT_HASHING, dims, weight, idf: 'stop' as const });
const embedders: Record<string, ResearchEmbedder> = {
  glove_sif_drop: { glove: { vectors: glove, a: 1e-3, common: 'none', weight: 1 }, dropStop: true },
  glove_mean_ctx03: { glove: gm(), dropStop: true, contextWeight: 0.3 },
  glove_mean_ctx05: { glove: gm(), dropStop: true, contextWeight: 0.5 },
  cat_gm_h256_55: { glove: gm(1), hash: hs(256, 1), dropStop: true },
  cat_gm_h256_73: { glove: gm(0.7), hash: hs(256, 0.3), dropStop: true },
  cat_gm_h412_55: { glove: gm(1), hash: hs(412, 1), dropStop: true },
  cat_gm_h412_73: { glove: gm(0.7), hash: hs(412, 0.3), dropStop: true },
  cat_gm_h412_82: { glove: gm(0.8), hash: hs(412, 0.2), dropStop: true },
  ...(small ? { glove_mean_small: { glove: gm(1, small), dropStop: true } } : {}),
};
const args = process.argv.slice(2);
const bm25 = await searchAll('bm25.date_speaker_caption_prev.default', data, { recipe: recipes.date_speaker_caption_prev, fts: {}, limit: 100 });
const bm25p2 = await searchAll('bm25.date_speaker_caption_prev2.default', data, { recipe: recipes.date_speaker_caption_prev2, fts: {}, limit: 100 });
console.log(row('bm25.date_speaker_caption_prev2', evaluate(data, bm25p2.fts ?? [])));
for (const rname of ['speaker_caption', 'caption_only', 'speaker_caption_prev']) {
  for (const [ename, spec] of Object.entries(embedders)) {
    if (args.length > 0 ? !args.some((a) => `${rname}/${ename}`.includes(a)) : rname !== 'speaker_caption') continue;
    if (ename.includes('ctx') !== rname.includes('prev')) continue;
    const name = `vec.${rname}.${ename}`;
    const { vector } = await searchAll(name, data, { recipe: recipe(rname), embed: makeEmbed(spec), limit: 100 });
    console.log(row(name, evaluate(data, vector ?? [])));
    console.log(row(`  rrf k20 w.4 + bm25 prev`, evaluate(data, fuseAll([bm25.fts ?? [], vector ?? []], 20, [1, 0.4]))));
    console.log(row(`  rrf k20 w.4 + bm25 prev2`, evaluate(data, fuseAll([bm25p2.fts ?? [], vector ?? []], 20, [1, 0.4]))));
  }
}
