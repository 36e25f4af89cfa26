/**
 * The chosen recipe end to end with the shipped LocalEmbedder (not the research copy), plus
 * its load time and throughput. Prints one JSON object as its last line.
 *
 *   node --import tsx bench/research/09-final.ts
 */
import { performance } from 'node:perf_hooks';
import { loadLocalEmbedder } from '../../src/memory/embedders/local.js';
import { keywordQuery } from '../../src/memory/embedders/tokenize.js';
import { evaluate, fuseAll, loadData, row, searchAll } from './harness.js';
import { recipes } from './recipes.js';

const t0 = performance.now();
const embedder = await loadLocalEmbedder();
const loadMs = performance.now() - t0;
const data = await loadData();
const texts = data.conversations.flatMap((c) => c.turns.map((t) => recipes.speaker_caption(t)));
await embedder.embed(texts.slice(0, 200)); // warm the JIT before timing
const t1 = performance.now();
await embedder.embed(texts);
const textsPerSec = texts.length / ((performance.now() - t1) / 1000);

const embed = (xs: readonly string[], purpose: 'query' | 'document') => embedder.embed(xs, { purpose });
const fts = await searchAll('final.fts', data, {
  recipe: recipes.date_speaker_caption_prev2,
  fts: { withPosition: false },
  limit: 100,
  queryText: (q) => keywordQuery(q.question),
});
const vec = await searchAll(`final.vec.${embedder.id}`, data, { recipe: recipes.speaker_caption, embed, limit: 100 });
const bm25 = evaluate(data, fts.fts ?? []);
const vector = evaluate(data, vec.vector ?? []);
const fused = evaluate(data, fuseAll([fts.fts ?? [], vec.vector ?? []], 20, [1, embedder.fusionWeight], 100));
console.log(row('BM25 (recipe text, keyword query)', bm25));
console.log(row(`vector ${embedder.id}`, vector));
console.log(row('RRF k=20, BM25 1 : vector 0.4, top 100 each', fused));
console.log(
  JSON.stringify({
    embedder: embedder.id,
    dimensions: embedder.dimensions,
    loadMs: Math.round(loadMs),
    textsPerSec: Math.round(textsPerSec),
    meanChars: Math.round(texts.reduce((a, t) => a + t.length, 0) / texts.length),
    recall: { bm25: bm25.overall, vector: vector.overall, fused: fused.overall },
    byCategory: fused.byCategory,
  }),
);
