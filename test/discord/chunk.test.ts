import { describe, expect, it } from 'vitest';
import { MESSAGE_LIMIT, splitMessage } from '../../src/discord/chunk.js';

const fencesBalanced = (chunk: string) => (chunk.match(/^```/gm) ?? []).length % 2 === 0;

describe('splitting answers for Discord', () => {
  it('leaves a short answer alone', () => {
    expect(splitMessage('  hello  ')).toEqual(['hello']);
    expect(splitMessage('   ')).toEqual([]);
  });

  it('keeps every chunk within the limit and loses no text', () => {
    const text = Array.from({ length: 300 }, (_, i) => `Line ${i}: ${'lorem ipsum '.repeat(i % 7)}`).join('\n');
    const chunks = splitMessage(text);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
    expect(chunks.join('\n').replace(/\s+/g, ' ')).toBe(text.replace(/\s+/g, ' ').trim());
  });

  it('closes and reopens a code block cut in two, with its language', () => {
    const code = Array.from({ length: 120 }, (_, i) => `const value${i} = compute(${i}); // step ${i}`).join('\n');
    const chunks = splitMessage(`Here is the script:\n\`\`\`ts\n${code}\n\`\`\`\nDone.`);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
      expect(fencesBalanced(c)).toBe(true);
    }
    expect(chunks[1]?.startsWith('```ts\n')).toBe(true);
    expect(chunks.at(-1)?.endsWith('Done.')).toBe(true);
  });

  it('never cuts a link or an emoji', () => {
    const link = `https://example.com/${'a'.repeat(150)}`;
    const emoji = '👩‍👩‍👧‍👦';
    const text = Array.from({ length: 60 }, (_, i) => `item ${i} ${link} ${emoji}${emoji}`).join(' ');
    const chunks = splitMessage(text);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
      for (const word of c.split(/\s+/)) {
        if (word.startsWith('https://')) expect(word).toBe(link);
        if (word.includes('👩')) expect(word).toBe(emoji + emoji);
      }
    }
  });

  it('splits even a single unbroken run of emoji on grapheme boundaries', () => {
    const chunks = splitMessage('🏳️‍🌈'.repeat(900));
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
      expect(c.replaceAll('🏳️‍🌈', '')).toBe('');
    }
  });
});
