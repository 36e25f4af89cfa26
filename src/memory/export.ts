/**
 * A user's export as a stream of JSON text, one record per piece, so that neither a size limit
 * (Discord's attachment) nor a terminal ever needs the whole export in memory at once. The text
 * is exactly what `JSON.stringify(exported, null, 2)` gives for the same data.
 */

/** One top-level field: a plain value, or an array produced lazily, record by record. */
export type ExportField = { name: string; value: string } | { name: string; items: AsyncIterable<unknown> };

/** The export's JSON text in pieces: the object's head, then each record, then its tail. */
export async function* jsonObjectPieces(fields: readonly ExportField[]): AsyncGenerator<string> {
  let first = true;
  for (const field of fields) {
    const head = `${first ? '{\n' : ',\n'}  ${JSON.stringify(field.name)}: `;
    first = false;
    if ('value' in field) {
      yield head + JSON.stringify(field.value);
      continue;
    }
    let count = 0;
    for await (const item of field.items) {
      // Nested two levels deep; JSON escapes newlines inside strings, so every "\n" here is layout.
      const text = JSON.stringify(item, null, 2).replaceAll('\n', '\n    ');
      yield `${count === 0 ? `${head}[\n` : ',\n'}    ${text}`;
      count++;
    }
    yield count === 0 ? `${head}[]` : '\n  ]';
  }
  yield first ? '{}' : '\n}';
}

/**
 * The pieces joined, or null as soon as the next one would pass `maxBytes`: the stream is then
 * closed, so the records after it are never read from the database.
 */
export async function collectWithin(pieces: AsyncIterable<string>, maxBytes: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const piece of pieces) {
    const chunk = Buffer.from(piece);
    if (size + chunk.length > maxBytes) return null;
    chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks, size);
}

/** Reads an async iterable to the end (small exports and tests). */
export async function drain<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
