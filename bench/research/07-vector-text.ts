/** Which text to embed: the turn alone, or the same text as the BM25 column (date + 2 previous turns). */
import { DEFAULT_HASHING } from '../../src/memory/embedders/hashing.js';
import { readWordVectors } from '../../src/memory/embedders/word-vectors.js';
import { STOP_WORDS, tokenize } from '../../src/memory/embedders/tokenize.js';
import { makeEmbed } from './embedders.js';
import { evaluate, fuseAll, loadData, row, searchAll } from './harness.js';
import { recipe, recipes } from './recipes.js';

const data = await loadData();
const vectors = await readWordVectors('/tmp/glove-50000-int8.cwv');
const bm25 = await searchAll('bm25.dsc.prev2.q_nostop', data, {
  recipe: recipes.date_speaker_caption_prev2,
  fts: {},
  limit: 100,
  queryText: (q) => tokenize(q.question).filter((t) => !STOP_WORDS.has(t)).join(' '),
});
for (const ctx of [undefined, 0.3, 0.5]) {
  for (const rname of ['speaker_caption', 'caption_only', 'date_speaker_caption_prev2']) {
    if ((ctx !== undefined) !== rname.includes('prev')) continue;
    const spec = {
      glove: { vectors, a: 1e-3, common: 'none' as const, weight: 0.7, mean: true },
      hash: { ...DEFAULT_HASHING, dims: 256, weight: 0.3, idf: 'stop' as const },
      dropStop: true,
      ...(ctx !== undefined ? { contextWeight: ctx } : {}),
    };
    const name = `vec.${rname}.cat_gm_h256_73.50000-int8${ctx !== undefined ? `.ctx${ctx}` : ''}`;
    const { vector } = await searchAll(name, data, { recipe: recipe(rname), embed: makeEmbed(spec), limit: 100 });
    console.log(row(name, evaluate(data, vector ?? [])));
    console.log(row('  rrf k20 w.4 + bm25', evaluate(data, fuseAll([bm25.fts ?? [], vector ?? []], 20, [1, 0.4]))));
  }
}
