/**
 * A compact binary file of static word vectors (GloVe here), in the word list's frequency order,
 * so a word's rank doubles as a frequency estimate for SIF weighting.
 *
 * Layout (little-endian): "CWV1", u32 dims, u32 count, u32 wordBytes, u8 encoding (0 float32,
 * 1 int8 with one float32 scale per row), 3 pad bytes, the words as UTF-8 joined by "\n", pad
 * to 4 bytes, then the rows (int8 rows after all scales).
 */
import { readFile } from 'node:fs/promises';

const MAGIC = 'CWV1';
const HEADER_BYTES = 20;

export type VectorEncoding = 'float32' | 'int8';

export interface WordVectors {
  readonly dims: number;
  /** Word → row (0 = most frequent). */
  readonly index: ReadonlyMap<string, number>;
  /** count × dims, row-major. */
  readonly matrix: Float32Array;
}

export function encodeWordVectors(words: readonly string[], matrix: Float32Array, dims: number, encoding: VectorEncoding): Buffer {
  if (matrix.length !== words.length * dims) throw new Error('matrix size does not match words × dims');
  for (const w of words) if (w.includes('\n')) throw new Error(`word contains a newline: ${JSON.stringify(w)}`);
  const wordBytes = Buffer.from(words.join('\n'), 'utf8');
  const wordsEnd = align4(HEADER_BYTES + wordBytes.length);
  const rowBytes = encoding === 'float32' ? words.length * dims * 4 : words.length * 4 + words.length * dims;
  const out = Buffer.alloc(wordsEnd + rowBytes);
  out.write(MAGIC, 0, 'ascii');
  out.writeUInt32LE(dims, 4);
  out.writeUInt32LE(words.length, 8);
  out.writeUInt32LE(wordBytes.length, 12);
  out.writeUInt8(encoding === 'float32' ? 0 : 1, 16);
  wordBytes.copy(out, HEADER_BYTES);
  if (encoding === 'float32') {
    for (let i = 0; i < matrix.length; i++) out.writeFloatLE(matrix[i] ?? 0, wordsEnd + i * 4);
    return out;
  }
  const qStart = wordsEnd + words.length * 4;
  for (let r = 0; r < words.length; r++) {
    let max = 0;
    for (let d = 0; d < dims; d++) max = Math.max(max, Math.abs(matrix[r * dims + d] ?? 0));
    const scale = max === 0 ? 1 : max / 127;
    out.writeFloatLE(scale, wordsEnd + r * 4);
    for (let d = 0; d < dims; d++) out.writeInt8(Math.round((matrix[r * dims + d] ?? 0) / scale), qStart + r * dims + d);
  }
  return out;
}

export function decodeWordVectors(buf: Buffer): WordVectors {
  if (buf.length < HEADER_BYTES || buf.toString('ascii', 0, 4) !== MAGIC) throw new Error('not a word-vector file (bad magic)');
  const dims = buf.readUInt32LE(4);
  const count = buf.readUInt32LE(8);
  const wordBytes = buf.readUInt32LE(12);
  const encoding = buf.readUInt8(16);
  const wordsEnd = align4(HEADER_BYTES + wordBytes);
  const expected = wordsEnd + (encoding === 0 ? count * dims * 4 : count * 4 + count * dims);
  if (encoding > 1 || buf.length !== expected) throw new Error('word-vector file is truncated or corrupt');
  const words = buf.toString('utf8', HEADER_BYTES, HEADER_BYTES + wordBytes).split('\n');
  if (words.length !== count) throw new Error('word-vector file word count does not match its header');
  const index = new Map<string, number>();
  // First occurrence wins: it is the more frequent spelling.
  words.forEach((w, i) => {
    if (!index.has(w)) index.set(w, i);
  });
  const matrix = new Float32Array(count * dims);
  if (encoding === 0) {
    // Copy, not view: the buffer's offset need not be 4-byte aligned.
    const floats = new Float32Array(buf.buffer.slice(buf.byteOffset + wordsEnd, buf.byteOffset + expected));
    matrix.set(floats);
  } else {
    const qStart = wordsEnd + count * 4;
    const q = new Int8Array(buf.buffer, buf.byteOffset + qStart, count * dims);
    for (let r = 0; r < count; r++) {
      const scale = buf.readFloatLE(wordsEnd + r * 4);
      const base = r * dims;
      for (let d = 0; d < dims; d++) matrix[base + d] = (q[base + d] ?? 0) * scale;
    }
  }
  return { dims, index, matrix };
}

export async function readWordVectors(path: string): Promise<WordVectors> {
  return decodeWordVectors(await readFile(path));
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
