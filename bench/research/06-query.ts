/** Query preprocessing for BM25, and a third previous turn as context. */
import { STOP_WORDS, tokenize } from '../../src/memory/embedders/tokenize.js';
import { evaluate, fuseAll, loadData, row, searchAll, type DocRecipe } from './harness.js';
import { recipes } from './recipes.js';

const data = await loadData();
const base = recipes.date_speaker_caption_prev2;
const prev3 = recipes.date_speaker_caption_prev3;
const vec = (await searchAll('vec.speaker_caption.cat_gm_h256_73.50000-int8', data, { recipe: recipes.speaker_caption, limit: 100, embed: () => [] })).vector ?? [];
const variants: [string, DocRecipe, ((q: string) => string) | undefined][] = [
  ['prev2.q_raw', base, undefined],
  ['prev2.q_nostop', base, (q) => tokenize(q).filter((t) => !STOP_WORDS.has(t)).join(' ')],
  ['prev2.q_tokens', base, (q) => tokenize(q).join(' ')],
  ['prev3.q_raw', prev3, undefined],
];
for (const [name, recipe, prep] of variants) {
  const { fts } = await searchAll(`bm25.dsc.${name}`, data, { recipe, fts: {}, limit: 100, ...(prep ? { queryText: (q) => prep(q.question) } : {}) });
  console.log(row(`bm25.${name}`, evaluate(data, fts ?? [])));
  console.log(row('  rrf k20 w.4 + vec cat', evaluate(data, fuseAll([fts ?? [], vec], 20, [1, 0.4]))));
}
