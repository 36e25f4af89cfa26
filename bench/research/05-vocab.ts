/** How small can the word list be: top-N words, int8-quantised, in the chosen concatenation. */
import { DEFAULT_HASHING } from '../../src/memory/embedders/hashing.js';
import { readWordVectors } from '../../src/memory/embedders/word-vectors.js';
import { makeEmbed } from './embedders.js';
import { evaluate, fuseAll, loadData, row, searchAll } from './harness.js';
import { recipes } from './recipes.js';

const data = await loadData();
const bm25 = await searchAll('bm25.date_speaker_caption_prev2.default', data, { recipe: recipes.date_speaker_caption_prev2, fts: {}, limit: 100 });
for (const file of ['/tmp/glove-full.cwv', '/tmp/glove-100000-int8.cwv', '/tmp/glove-50000-int8.cwv', '/tmp/glove-30000-int8.cwv']) {
  const vectors = await readWordVectors(file);
  const tag = file.replace(/^.*glove-|\.cwv$/g, '');
  for (const [ename, hashWeight] of [['gm', 0], ['cat_gm_h256_73', 0.3]] as const) {
    const spec = {
      glove: { vectors, a: 1e-3, common: 'none' as const, weight: 1 - hashWeight, mean: true },
      ...(hashWeight > 0 ? { hash: { ...DEFAULT_HASHING, dims: 256, weight: hashWeight, idf: 'stop' as const } } : {}),
      dropStop: true,
    };
    const name = `vec.speaker_caption.${ename}.${tag}`;
    const { vector } = await searchAll(name, data, { recipe: recipes.speaker_caption, embed: makeEmbed(spec), limit: 100 });
    console.log(row(name, evaluate(data, vector ?? [])));
    console.log(row('  rrf k20 w.4 + bm25 prev2', evaluate(data, fuseAll([bm25.fts ?? [], vector ?? []], 20, [1, 0.4]))));
  }
}
