/**
 * RRF parameters over cached rankings (run 01 and 02 first). To guard against tuning on the test
 * set, parameters are chosen on conversations 1–5 and reported on 6–10 as well as on all.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { scoreQuestion, summarise } from '../locomo-data.js';
import { allQuestions, evaluate, fuseAll, KS, loadData, row, type Rankings } from './harness.js';

const data = await loadData();
const dir = process.env.RESEARCH_CACHE ?? path.join(os.tmpdir(), 'cairn-research-cache');
const load = async (name: string): Promise<Rankings> =>
  z.array(z.array(z.string())).parse(JSON.parse(await readFile(path.join(dir, `${name}.json`), 'utf8')));

const [ftsName, vecName] = [process.argv[2] ?? 'bm25.date_speaker_caption_prev.default.fts', process.argv[3] ?? 'vec.speaker_caption.glove_mean.vec'];
const fts = await load(ftsName);
const vec = await load(vecName);
const qs = allQuestions(data);
const half = new Set(data.conversations.slice(0, 5).map((c) => c.sampleId));
const split = (r: Rankings, first: boolean) => {
  const scored = qs.flatMap(({ conv, q }, i) => (half.has(conv.sampleId) === first ? [scoreQuestion(q, r[i] ?? [], KS)] : []));
  return summarise(scored, KS);
};
console.log(row(`bm25 ${ftsName}`, evaluate(data, fts)));
console.log(row(`vec ${vecName}`, evaluate(data, vec)));
const results: { name: string; dev: number; test: string; all: string }[] = [];
for (const k of [5, 10, 20, 30, 60, 100]) {
  for (const w of [0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1]) {
    for (const depth of [50, 100]) {
      const fused = fuseAll([fts, vec], k, [1, w], depth);
      const dev = split(fused, true);
      // Dev objective: mean of R@5,10,25,50 (every k counts).
      const score = KS.reduce((a, kk) => a + (dev.overall[kk] ?? 0), 0) / KS.length;
      const name = `k=${k} w=${w} depth=${depth}`;
      results.push({ name, dev: score, test: row(`  test  ${name}`, split(fused, false)), all: row(`  all   ${name}`, evaluate(data, fused)) });
    }
  }
}
results.sort((a, b) => b.dev - a.dev);
for (const r of results.slice(0, Number(process.env.TOP ?? 5))) console.log(`dev ${r.dev.toFixed(2)}\n${r.test}\n${r.all}`);
