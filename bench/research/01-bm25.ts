/** BM25 alone (LanceDB FTS): which turn text and which index options. */
import { evaluate, loadData, row, searchAll, type FtsOptions } from './harness.js';
import { recipes } from './recipes.js';

const data = await loadData();
const ftsVariants: Record<string, FtsOptions> = {
  // LanceDB 0.31's defaults already stem, drop English stop words, lower-case and fold accents.
  default: {},
  plain: { stem: false, removeStopWords: false, asciiFolding: false },
  nostem: { stem: false },
  nostop: { removeStopWords: false },
  nopos: { withPosition: false },
};
const only = process.argv[2];
for (const [rname, recipe] of Object.entries(recipes)) {
  for (const [fname, fts] of Object.entries(ftsVariants)) {
    if (only ? !`${rname}/${fname}`.includes(only) : !['default', 'nostop'].includes(fname)) continue;
    const name = `bm25.${rname}.${fname}`;
    const { fts: r } = await searchAll(name, data, { recipe, fts, limit: 100 });
    console.log(row(name, evaluate(data, r ?? [])));
  }
}
