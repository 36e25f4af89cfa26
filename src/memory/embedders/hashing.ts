/**
 * Feature hashing of words, word pairs and character n-grams into a fixed number of signed
 * buckets. It needs no vocabulary, so it covers names, code tokens and typos that static word
 * vectors miss; character n-grams make "painting" and "paintings" overlap.
 */

export interface HashingOptions {
  dims: number;
  /** Weight of adjacent word pairs relative to single words (0 turns them off). */
  bigramWeight: number;
  /** Total weight of one word's character n-grams relative to the word itself (0 turns them off). */
  charWeight: number;
  charMin: number;
  charMax: number;
}

export const DEFAULT_HASHING: HashingOptions = { dims: 256, bigramWeight: 0.5, charWeight: 1, charMin: 3, charMax: 5 };

/** 32-bit FNV-1a over UTF-16 code units, with a salt so feature kinds do not collide by design. */
export function fnv1a(text: string, salt: number): number {
  let h = (0x811c9dc5 ^ salt) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

const SALT_WORD = 0x9e37;
const SALT_PAIR = 0x85eb;
const SALT_CHAR = 0xc2b2;

/**
 * Adds the hashed features of `tokens` into out[offset, offset + dims). Every feature's value is
 * weight × (1 + ln count): sublinear, so one repeated word does not dominate a text.
 * `weightOf` gives a word's importance (e.g. low for function words).
 */
export function addHashedFeatures(
  tokens: readonly string[],
  weightOf: (token: string) => number,
  options: HashingOptions,
  out: Float32Array,
  offset: number,
): void {
  const features = new Map<number, { count: number; weight: number }>();
  const add = (hash: number, weight: number): void => {
    if (weight <= 0) return;
    const f = features.get(hash);
    if (f === undefined) features.set(hash, { count: 1, weight });
    else {
      f.count++;
      f.weight = Math.max(f.weight, weight);
    }
  };
  const weights = tokens.map(weightOf);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? '';
    const w = weights[i] ?? 0;
    add(fnv1a(token, SALT_WORD), w);
    if (options.bigramWeight > 0 && i + 1 < tokens.length) {
      const next = tokens[i + 1] ?? '';
      add(fnv1a(`${token} ${next}`, SALT_PAIR), options.bigramWeight * Math.min(w, weights[i + 1] ?? 0));
    }
    if (options.charWeight > 0 && token.length >= options.charMin) {
      const padded = `<${token}>`;
      const grams: string[] = [];
      for (let n = options.charMin; n <= options.charMax; n++) {
        for (let s = 0; s + n <= padded.length; s++) grams.push(padded.slice(s, s + n));
      }
      // Spread the word's char weight over its n-grams so long words do not outweigh short ones.
      const each = (options.charWeight * w) / Math.sqrt(grams.length);
      for (const g of grams) add(fnv1a(g, SALT_CHAR), each);
    }
  }
  for (const [hash, f] of features) {
    const bucket = hash % options.dims;
    const sign = (hash >>> 31) === 0 ? 1 : -1;
    const index = offset + bucket;
    out[index] = (out[index] ?? 0) + sign * f.weight * (1 + Math.log(f.count));
  }
}
