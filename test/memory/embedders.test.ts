import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { addHashedFeatures, DEFAULT_HASHING, fnv1a } from '../../src/memory/embedders/hashing.js';
import { createEmbedder } from '../../src/memory/embedders/index.js';
import { LocalEmbedder, loadLocalEmbedder } from '../../src/memory/embedders/local.js';
import { keywordQuery, tokenize } from '../../src/memory/embedders/tokenize.js';
import { decodeWordVectors, encodeWordVectors } from '../../src/memory/embedders/word-vectors.js';
import { pairAuc, PARAPHRASES } from './embedders-pairs.js';

const embedder = await loadLocalEmbedder();

const norm = (v: Float32Array): number => Math.hypot(...v);
const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0);

describe('local embedder', () => {
  it('has a stable id and at most 512 dimensions', () => {
    expect(embedder.id).toBe('local-v1');
    expect(embedder.dimensions).toBe(356);
    expect(embedder.fusionWeight).toBeGreaterThan(0);
  });

  it('is deterministic across calls and across loads', async () => {
    const texts = ['I adopted a puppy last week', 'kubectl rollout restart deploy/api', ''];
    const again = await loadLocalEmbedder();
    const [a, b, c] = [await embedder.embed(texts), await embedder.embed(texts), await again.embed(texts)];
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });

  it('returns one unit vector per text, in order, whatever the text', async () => {
    const texts = ['', 'Yes, me too!', 'xyzzy qwertz', 'Café crème à Zürich 🎉', 'a'.repeat(5000), 'The dog barked.'];
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(texts.length);
    for (const v of vectors) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v).toHaveLength(embedder.dimensions);
      expect(norm(v)).toBeCloseTo(1, 5);
      expect(v.every(Number.isFinite)).toBe(true);
    }
    const single = await embedder.embed(['The dog barked.']);
    expect(single[0]).toEqual(vectors[5]);
  });

  it('ranks paraphrases above unrelated pairs (AUC over 20 × 380 pairs)', async () => {
    const a = await embedder.embed(PARAPHRASES.map((p) => p[0]));
    const b = await embedder.embed(PARAPHRASES.map((p) => p[1]));
    const auc = pairAuc((i, j) => dot(a[i] ?? new Float32Array(), b[j] ?? new Float32Array()), PARAPHRASES.length);
    // Measured 0.987; hashing alone scores 0.83, so this fails if the word vectors stop loading.
    expect(auc).toBeGreaterThan(0.95);
  });

  it('relates synonyms that share no word, through the word vectors', async () => {
    const [car, vehicle, banana] = await embedder.embed(['my car', 'the vehicle', 'a banana']);
    if (!car || !vehicle || !banana) throw new Error('missing vectors');
    expect(dot(car, vehicle)).toBeGreaterThan(dot(car, banana) + 0.1);
  });

  it('embeds short texts fast (target ≥ 2,000 texts/s on one core)', async () => {
    const texts = Array.from({ length: 2000 }, (_, i) => `Message ${i}: we talked about hiking trip number ${i % 37} and the weather`);
    const started = performance.now();
    await embedder.embed(texts);
    // A loose bound for shared CI machines; bench/research/09-final.ts measures ~15k texts/s.
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('honours an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(embedder.embed(['x'], { signal: controller.signal })).rejects.toThrow('stop');
  });

  it('is what createEmbedder("local") returns, with no network', async () => {
    const created = await createEmbedder(' Local ', { timeoutMs: 1000, maxRetries: 0 }, silentLogger());
    expect(created).toBeInstanceOf(LocalEmbedder);
    expect(created.id).toBe('local-v1');
  });

  it('rejects an empty spec', async () => {
    await expect(createEmbedder('  ', { timeoutMs: 1000, maxRetries: 0 }, silentLogger())).rejects.toThrow(/CAIRN_EMBEDDINGS/);
  });
});

describe('tokenizer and keyword queries', () => {
  it('lower-cases, folds accents and drops clitics', () => {
    expect(tokenize("Caroline's café, DON'T panic! 2023")).toEqual(['caroline', 'cafe', 'don', 'panic', '2023']);
  });

  it('keeps only content words for BM25, or every word when none is left', () => {
    expect(keywordQuery('When did Melanie paint a sunrise?')).toBe('melanie paint sunrise');
    expect(keywordQuery('What was it?')).toBe('what was it');
    expect(keywordQuery('"quoted" AND (weird:syntax)')).toBe('quoted weird syntax');
  });
});

describe('feature hashing', () => {
  it('is deterministic and separates salts', () => {
    expect(fnv1a('cairn', 1)).toBe(fnv1a('cairn', 1));
    expect(fnv1a('cairn', 1)).not.toBe(fnv1a('cairn', 2));
  });

  it('makes inflections overlap through character n-grams', () => {
    const vec = (words: string[]): Float32Array => {
      const out = new Float32Array(DEFAULT_HASHING.dims);
      addHashedFeatures(words, () => 1, DEFAULT_HASHING, out, 0);
      return out.map((x) => x / Math.hypot(...out));
    };
    const related = dot(vec(['painting']), vec(['paintings']));
    const unrelated = Math.abs(dot(vec(['painting']), vec(['hiking'])));
    expect(related).toBeGreaterThan(0.3);
    expect(related).toBeGreaterThan(unrelated + 0.25);
  });
});

describe('word-vector file', () => {
  const words = ['the', 'dog', 'café'];
  const matrix = Float32Array.from([0.5, -0.25, 1, 0, 0.1, -1, 0.3, 0.2, -0.7]);

  it('round-trips float32 exactly and int8 closely', () => {
    const exact = decodeWordVectors(encodeWordVectors(words, matrix, 3, 'float32'));
    expect(exact.dims).toBe(3);
    expect([...exact.index.entries()]).toEqual([['the', 0], ['dog', 1], ['café', 2]]);
    expect(exact.matrix).toEqual(matrix);
    const small = decodeWordVectors(encodeWordVectors(words, matrix, 3, 'int8'));
    small.matrix.forEach((v, i) => {
      expect(v).toBeCloseTo(matrix[i] ?? 0, 2);
    });
  });

  it('refuses a truncated or foreign file', () => {
    const buf = encodeWordVectors(words, matrix, 3, 'int8');
    expect(() => decodeWordVectors(buf.subarray(0, buf.length - 1))).toThrow(/truncated/);
    expect(() => decodeWordVectors(Buffer.from('not a vector file at all'))).toThrow(/magic/);
  });
});
