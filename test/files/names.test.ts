/** File names from Discord become workspace paths: one safe segment, unique, readable. */
import { describe, expect, it } from 'vitest';
import { sanitiseFileName, uniqueFileName } from '../../src/files/index.js';

describe('sanitiseFileName', () => {
  it.each([
    ['../../etc/passwd', 'passwd'],
    ['..\\..\\windows\\system.ini', 'system.ini'],
    ['..', 'file'],
    ['', 'file'],
    ['.env', 'env'],
    ['...hidden.txt', 'hidden.txt'],
    ['CON.txt', '_CON.txt'],
    ['nul', '_nul'],
    ['com1.tar.gz', '_com1.tar.gz'],
    ['console.txt', 'console.txt'],
    ['a\u0000b.csv', 'ab.csv'],
    ['line\nbreak.md', 'linebreak.md'],
    ['invoice\u202Etxt.exe', 'invoicetxt.exe'],
    ['what?<yes>|no*.txt', 'what__yes__no_.txt'],
    ['report.pdf. . ', 'report.pdf'],
    ['  spaced   out .csv', 'spaced out.csv'],
    ['Cafe\u0301.md', 'Café.md'],
  ])('%j becomes %j', (raw, safe) => {
    expect(sanitiseFileName(raw)).toBe(safe);
  });

  it('bounds long names by characters and bytes, keeping the extension', () => {
    const long = sanitiseFileName(`${'a'.repeat(300)}.csv`);
    expect(long).toBe(`${'a'.repeat(96)}.csv`);
    const wide = sanitiseFileName(`${'日'.repeat(300)}.pdf`);
    expect(wide.endsWith('.pdf')).toBe(true);
    expect(Buffer.byteLength(wide, 'utf8')).toBeLessThanOrEqual(200);
    expect(sanitiseFileName(`${'x'.repeat(1_000_000)}.txt`)).toBe(`${'x'.repeat(96)}.txt`);
    const emoji = sanitiseFileName(`${'😀'.repeat(80)}.txt`);
    expect(emoji).toMatch(/^(😀)+\.txt$/u);
    expect(Buffer.byteLength(emoji, 'utf8')).toBeLessThanOrEqual(200);
  });
});

describe('uniqueFileName', () => {
  it('numbers repeats before the extension, without regard to case', () => {
    const taken = new Set<string>();
    expect(['data.csv', 'data.csv', 'Data.CSV', 'README', 'readme'].map((n) => uniqueFileName(n, taken))).toEqual([
      'data.csv',
      'data (2).csv',
      'Data (3).CSV',
      'README',
      'readme (2)',
    ]);
  });

  it('keeps a numbered long name within the bounds', () => {
    const taken = new Set<string>();
    const name = sanitiseFileName(`${'b'.repeat(300)}.json`);
    uniqueFileName(name, taken);
    const second = uniqueFileName(name, taken);
    expect(second.endsWith(' (2).json')).toBe(true);
    expect(second.length).toBeLessThanOrEqual(100);
  });
});
