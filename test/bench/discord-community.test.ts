import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSource } from '../../bench/datasets/build-discord-community.js';
import { loadLocomo } from '../../bench/locomo-data.js';

const datasetDir = path.join(import.meta.dirname, '../../bench/datasets');
const datasetFile = path.join(datasetDir, 'discord-community.json');

describe('bench/datasets/discord-community.json', () => {
  it('is what the build script makes from the hand-written sources', async () => {
    const sourceDir = path.join(datasetDir, 'source');
    const files = (await readdir(sourceDir)).filter((f) => f.startsWith('discord-') && f.endsWith('.txt')).sort();
    const built = await Promise.all(files.map(async (f) => parseSource(await readFile(path.join(sourceDir, f), 'utf8'), f)));
    const stored: unknown = JSON.parse(await readFile(datasetFile, 'utf8'));
    expect(stored).toEqual(built);
  });

  it('loads cleanly: every evidence id names a turn, and every question has evidence', async () => {
    const data = await loadLocomo(datasetFile);
    expect(data.repaired).toEqual([]);
    expect(data.dropped).toEqual([]);
    expect(data.noEvidence).toBe(0);
  });

  it('has the promised size: conversations of 4–7 people over 10–16 dated sessions, 180–300 turns, 50+ questions', async () => {
    const data = await loadLocomo(datasetFile);
    expect(data.conversations.length).toBeGreaterThanOrEqual(2);
    for (const conv of data.conversations) {
      const sessions = new Set(conv.turns.map((t) => t.session));
      expect(sessions.size).toBeGreaterThanOrEqual(10);
      expect(sessions.size).toBeLessThanOrEqual(16);
      expect(conv.turns.length).toBeGreaterThanOrEqual(180);
      expect(conv.turns.length).toBeLessThanOrEqual(300);
      expect(conv.questions.length).toBeGreaterThanOrEqual(50);
      expect(conv.speakers.length).toBeGreaterThanOrEqual(4);
      expect(conv.speakers.length).toBeLessThanOrEqual(7);
      // Everyone listed speaks, and sessions are dated and in date order.
      expect(new Set(conv.turns.map((t) => t.speaker))).toEqual(new Set(conv.speakers));
      const times = conv.turns.map((t) => t.createdAt?.getTime() ?? Number.NaN);
      expect(times.every((t, i) => !Number.isNaN(t) && (i === 0 || t >= (times[i - 1] ?? 0)))).toBe(true);
    }
  });

  it('spreads questions over the five categories roughly as planned (each 10–35%)', async () => {
    const data = await loadLocomo(datasetFile);
    const questions = data.conversations.flatMap((c) => c.questions);
    for (const name of ['single-hop', 'multi-hop', 'temporal', 'open-domain', 'adversarial']) {
      const share = questions.filter((q) => q.categoryName === name).length / questions.length;
      expect(share, name).toBeGreaterThanOrEqual(0.1);
      expect(share, name).toBeLessThanOrEqual(0.35);
    }
    // Multi-hop questions need more than one turn.
    expect(questions.filter((q) => q.categoryName === 'multi-hop').every((q) => q.evidence.length >= 2)).toBe(true);
  });
});

describe('parseSource (the dataset build script)', () => {
  const source = [
    '=== sample s1',
    'speakers: A, B, C',
    '--- session 1 | 8:00 pm on 2 March, 2024',
    'A: hi [[hello]]',
    'C: code:\\n`x`',
    '--- questions',
    'single-hop | Who said hi? | A | hello',
  ].join('\n');

  it('numbers turns, resolves tags to dia_ids and keeps every speaker', () => {
    const sample = parseSource(source, 't.txt');
    expect(sample.conversation).toMatchObject({ speaker_a: 'A', speaker_b: 'B', speakers: ['A', 'B', 'C'] });
    expect(sample.conversation['session_1']).toEqual([
      { speaker: 'A', dia_id: 'D1:1', text: 'hi' },
      { speaker: 'C', dia_id: 'D1:2', text: 'code:\n`x`' },
    ]);
    expect(sample.qa).toEqual([{ question: 'Who said hi?', answer: 'A', evidence: ['D1:1'], category: 4 }]);
  });

  it('refuses unknown tags, duplicate tags, unknown speakers and unknown categories, naming the line', () => {
    expect(() => parseSource(source.replace('| hello', '| nope'), 't.txt')).toThrow(/t.txt:7: unknown tag nope/);
    expect(() => parseSource(source.replace('`x`', '`x` [[hello]]'), 't.txt')).toThrow(/t.txt:5: duplicate tag hello/);
    expect(() => parseSource(source.replace('C: code', 'D: code'), 't.txt')).toThrow(/t.txt:5: unknown speaker D/);
    expect(() => parseSource(source.replace('single-hop |', 'trivia |'), 't.txt')).toThrow(/t.txt:7: unknown category trivia/);
  });
});
