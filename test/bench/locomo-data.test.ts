import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadLocomo,
  parseLocomo,
  parseLocomoDate,
  recallAtK,
  repairEvidence,
  scoreQuestion,
  summarise,
} from '../../bench/locomo-data.js';

/** A made-up two-session conversation with the real file's shape and quirks. */
const sample = {
  sample_id: 'conv-x',
  conversation: {
    speaker_a: 'Ana',
    speaker_b: 'Ben',
    session_1_date_time: '1:56 pm on 8 May, 2023',
    session_1: [
      { speaker: 'Ana', dia_id: 'D1:1', text: 'I took up pottery.' },
      { speaker: 'Ben', dia_id: 'D1:2', text: 'Nice! Show me.', blip_caption: 'a photo of a clay bowl', img_url: ['x'] },
    ],
    session_2_date_time: '10:04 am on 12 June, 2023',
    session_2: [{ speaker: 'Ana', dia_id: 'D2:1', text: 'The kiln broke.' }],
    // More date keys than sessions, as in some real samples.
    session_3_date_time: '9:00 am on 1 July, 2023',
  },
  qa: [
    { question: 'What hobby?', answer: 'pottery', evidence: ['D1:1'], category: 4 },
    { question: 'What broke, and what did Ana make?', answer: 'kiln', evidence: ['D2:1; D1:2', 'D1:1'], category: 1 },
    { question: 'When?', answer: 2023, evidence: ['D:2:1'], category: 2 },
    { question: 'Padded id', answer: 'x', evidence: ['D1:01'], category: 3 },
    { question: 'Space joined', answer: 'x', evidence: ['D1:1 D2:1'], category: 3 },
    { question: 'Nothing known', adversarial_answer: 'x', evidence: ['D', 'D9:9'], category: 5 },
    { question: 'No evidence at all', answer: 'x', evidence: [], category: 3 },
  ],
  observation: {},
};

describe('parseLocomo', () => {
  const data = parseLocomo([sample]);
  const conv = data.conversations[0];

  it('reads sessions in order with their dates, captions and speakers', () => {
    expect(conv?.sampleId).toBe('conv-x');
    expect(conv?.speakers).toEqual(['Ana', 'Ben']);
    expect(conv?.turns.map((t) => t.id)).toEqual(['D1:1', 'D1:2', 'D2:1']);
    expect(conv?.turns[1]).toMatchObject({ session: 1, caption: 'a photo of a clay bowl', sessionDate: '1:56 pm on 8 May, 2023' });
    expect(conv?.turns[2]?.createdAt?.toISOString()).toBe('2023-06-12T10:04:00.000Z');
    expect(conv?.turns[0]).not.toHaveProperty('caption');
  });

  it('repairs unambiguous evidence ids, drops the rest, and counts both', () => {
    expect(conv?.questions.map((q) => q.evidence)).toEqual([
      ['D1:1'],
      ['D2:1', 'D1:2', 'D1:1'],
      ['D2:1'],
      ['D1:1'],
      ['D1:1', 'D2:1'],
      [],
      [],
    ]);
    expect(data.repaired.map((r) => r.raw)).toEqual(['D2:1; D1:2', 'D:2:1', 'D1:01', 'D1:1 D2:1']);
    expect(data.dropped.map((r) => r.raw)).toEqual(['D', 'D9:9']);
    expect(data.noEvidence).toBe(2);
  });

  it('names categories as the paper does', () => {
    expect(conv?.questions.map((q) => q.categoryName)).toEqual([
      'single-hop',
      'multi-hop',
      'temporal',
      'open-domain',
      'open-domain',
      'adversarial',
      'open-domain',
    ]);
  });

  it('refuses a file of another shape, saying where', () => {
    expect(() => parseLocomo({ not: 'a list' })).toThrow(/not a LoCoMo file/);
    const badTurn = { ...sample, conversation: { ...sample.conversation, session_2: [{ speaker: 'Ana' }] } };
    expect(() => parseLocomo([badTurn])).toThrow(/conv-x session_2/);
    expect(() => parseLocomo([{ ...sample, qa: [{ question: 'q', evidence: [], category: 7 }] }])).toThrow(/not a LoCoMo file/);
  });

  it('loads from a path', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'locomo-test-'));
    try {
      const file = path.join(dir, 'tiny.json');
      await writeFile(file, JSON.stringify([sample]));
      const loaded = await loadLocomo(file);
      expect(loaded.conversations[0]?.turns).toHaveLength(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('repairEvidence', () => {
  const known = new Set(['D1:1', 'D30:5']);
  it('leaves a good id alone and normalises the rest', () => {
    expect(repairEvidence('D1:1', known)).toEqual({ ids: ['D1:1'], changed: false });
    expect(repairEvidence('D30:05', known)).toEqual({ ids: ['D30:5'], changed: true });
    expect(repairEvidence('D30:5, D30:5', known)).toEqual({ ids: ['D30:5'], changed: true });
    expect(repairEvidence('D7:7', known)).toEqual({ ids: [], changed: true });
  });
});

describe('parseLocomoDate', () => {
  it('reads the file’s date format and nothing else', () => {
    expect(parseLocomoDate('12:05 am on 1 January, 2024')?.toISOString()).toBe('2024-01-01T00:05:00.000Z');
    expect(parseLocomoDate('12:30 pm on 3 March, 2023')?.toISOString()).toBe('2023-03-03T12:30:00.000Z');
    expect(parseLocomoDate('yesterday')).toBeUndefined();
    expect(parseLocomoDate('1:00 pm on 3 Smarch, 2023')).toBeUndefined();
  });
});

describe('recall@k as the paper scores it', () => {
  it('is the share of evidence found in the top k', () => {
    const retrieved = ['D1', 'D2', 'D3', 'D4'];
    expect(recallAtK(retrieved, ['D2', 'D4'], 2)).toBe(0.5);
    expect(recallAtK(retrieved, ['D2', 'D4'], 4)).toBe(1);
    expect(recallAtK(retrieved, ['D9'], 50)).toBe(0);
    expect(recallAtK([], ['D1'], 5)).toBe(0);
  });

  it('scores a question without evidence as 1, like the paper’s scorer', () => {
    expect(recallAtK(['D1'], [], 5)).toBe(1);
  });

  it('averages every question once overall and per named category', () => {
    const data = parseLocomo([sample]);
    const questions = data.conversations[0]?.questions ?? [];
    const ranking = ['D1:1', 'D2:1', 'D1:2'];
    const scored = questions.map((q) => scoreQuestion(q, ranking, [1, 3]));
    const summary = summarise(scored, [1, 3]);
    expect(summary.questions).toBe(7);
    // @1: 1, 1/3, 0, 1, 1/2, 1, 1 → 4.8333 / 7
    expect(summary.overall[1]).toBe(69);
    expect(summary.overall[3]).toBe(100);
    expect(summary.byCategory['open-domain']).toEqual({ questions: 3, recall: { 1: 83.3, 3: 100 } });
    expect(summary.byCategory['multi-hop']?.recall[1]).toBe(33.3);
    expect(Object.keys(summary.byCategory).sort()).toEqual(['adversarial', 'multi-hop', 'open-domain', 'single-hop', 'temporal']);
  });
});

/** A group conversation in the extended format: a speakers list and named categories. */
const group = {
  sample_id: 'guild-x',
  conversation: {
    speaker_a: 'Ana',
    speaker_b: 'Ben',
    speakers: ['Ana', 'Ben', 'Cleo', 'Dev'],
    session_1_date_time: '8:00 pm on 2 March, 2024',
    session_1: [
      { speaker: 'Cleo', dia_id: 'D1:1', text: 'meetup moved to friday' },
      { speaker: 'Dev', dia_id: 'D1:2', text: 'ok' },
      { speaker: 'Ana', dia_id: 'D1:3', text: 'i can host the repo' },
    ],
  },
  qa: [
    { question: 'Who hosts the repo?', answer: 'Ana', evidence: ['D1:3'], category: 4 },
    { question: 'What is my cat called?', answer: 'never said', evidence: [], category: 'abstention', question_date: '9:15 am on 4 March, 2024' },
    { question: 'What changed?', answer: 'the meetup day', evidence: ['D1:1'], category: 'knowledge-update' },
    { question: 'When?', answer: 3, evidence: ['D1:1'], category: 2 },
  ],
};

describe('parseLocomo on group conversations and other datasets’ categories', () => {
  const data = parseLocomo([group]);
  const conv = data.conversations[0];

  it('keeps every speaker of a group conversation', () => {
    expect(conv?.speakers).toEqual(['Ana', 'Ben', 'Cleo', 'Dev']);
    expect(conv?.turns.map((t) => t.speaker)).toEqual(['Cleo', 'Dev', 'Ana']);
  });

  it('keeps named categories as written and maps LoCoMo numbers to names', () => {
    expect(conv?.questions.map((q) => q.categoryName)).toEqual(['single-hop', 'abstention', 'knowledge-update', 'temporal']);
    expect(conv?.questions.map((q) => q.category)).toEqual([4, 'abstention', 'knowledge-update', 2]);
  });

  it('reads answers as text and the optional question date', () => {
    expect(conv?.questions.map((q) => q.answer)).toEqual(['Ana', 'never said', 'the meetup day', '3']);
    expect(conv?.questions[1]?.askedAt?.toISOString()).toBe('2024-03-04T09:15:00.000Z');
    expect(conv?.questions[0]).not.toHaveProperty('askedAt');
  });

  it('summarises named categories after LoCoMo’s, in the order first seen', () => {
    const scored = (conv?.questions ?? []).map((q) => scoreQuestion(q, ['D1:1'], [1]));
    const summary = summarise(scored, [1]);
    expect(Object.keys(summary.byCategory)).toEqual(['temporal', 'single-hop', 'abstention', 'knowledge-update']);
    expect(summary.byCategory['knowledge-update']).toEqual({ questions: 1, recall: { 1: 100 } });
    expect(summary.byCategory['single-hop']).toEqual({ questions: 1, recall: { 1: 0 } });
  });

  it('refuses a turn by someone not in the speakers list, naming the turn', () => {
    const stranger = structuredClone(group);
    stranger.conversation.session_1[1] = { speaker: 'Eve', dia_id: 'D1:2', text: 'hi' };
    expect(() => parseLocomo([stranger])).toThrow(/guild-x D1:2: speaker "Eve"/);
  });

  it('refuses a speakers list that disagrees with speaker_a and speaker_b or repeats a name', () => {
    const reordered = structuredClone(group);
    reordered.conversation.speakers = ['Cleo', 'Ana', 'Ben', 'Dev'];
    expect(() => parseLocomo([reordered])).toThrow(/must start with speaker_a and speaker_b/);
    const repeated = structuredClone(group);
    repeated.conversation.speakers = ['Ana', 'Ben', 'Cleo', 'Cleo'];
    expect(() => parseLocomo([repeated])).toThrow(/names someone twice/);
  });

  it('refuses a category that is neither 1–5 nor a plain name', () => {
    const bad = (category: unknown): unknown => [{ ...group, qa: [{ question: 'q', evidence: [], category }] }];
    expect(() => parseLocomo(bad(0))).toThrow(/not a LoCoMo file/);
    expect(() => parseLocomo(bad(''))).toThrow(/not a LoCoMo file/);
    expect(() => parseLocomo(bad(' padded'))).toThrow(/not a LoCoMo file/);
    expect(() => parseLocomo(bad('x'.repeat(65)))).toThrow(/not a LoCoMo file/);
  });

  it('drops evidence naming no turn of this conversation', () => {
    const data2 = parseLocomo([{ ...group, qa: [{ question: 'q', evidence: ['D1:3', 'D2:1'], category: 'x' }] }]);
    expect(data2.conversations[0]?.questions[0]?.evidence).toEqual(['D1:3']);
    expect(data2.dropped).toEqual([{ sampleId: 'guild-x', raw: 'D2:1', ids: [] }]);
  });
});
