import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { convertLongMemEval, toLocomoDate } from '../../bench/convert-longmemeval.js';
import { parseLocomo } from '../../bench/locomo-data.js';

type Turn = { role: 'user' | 'assistant'; content: string; has_answer?: boolean };

/** Two sessions; `marks` lists the [session, turn] positions this question's copy marks has_answer. */
function haystack(marks: [number, number][], pizza = 'I love margherita.'): Turn[][] {
  const sessions: Turn[][] = [
    [
      { role: 'user', content: 'I adopted a beagle called Rolo.' },
      { role: 'assistant', content: 'Congratulations on Rolo!' },
    ],
    [
      { role: 'user', content: pizza },
      { role: 'assistant', content: 'Margherita is a classic.' },
      { role: 'user', content: 'Rolo hates the vacuum.' },
    ],
  ];
  return sessions.map((s, si) => s.map((t, ti) => (marks.some(([ms, mt]) => ms === si && mt === ti) ? { ...t, has_answer: true } : t)));
}

function question(id: string, type: string, marks: [number, number][], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    question_id: id,
    question_type: type,
    question: `question ${id}?`,
    answer: `answer ${id}`,
    question_date: '2023/06/01 (Thu) 09:00',
    haystack_session_ids: ['sharegpt_a_0', 'answer_b_1'],
    haystack_dates: ['2023/05/20 (Sat) 02:21', '2023/05/25 (Thu) 14:05'],
    haystack_sessions: haystack(marks),
    answer_session_ids: ['answer_b_1'],
    ...extra,
  };
}

const fixture = [
  // q1 and q2 share a haystack but mark different turns: one conversation, own evidence each.
  question('q1', 'single-session-user', [[0, 0]]),
  question('q2', 'multi-session', [[0, 0], [1, 2]], { answer: 2 }),
  // Same session ids, one text differs: another conversation.
  question('q3', 'single-session-preference', [[1, 0]], { haystack_sessions: haystack([[1, 0]], 'I love hawaiian.') }),
  // Abstention: nothing marked, so the answer session's turns are the evidence.
  question('q4_abs', 'single-session-user', [], { haystack_sessions: haystack([], 'I love hawaiian.') }),
  // Oracle-style: sessions not in date order, and nothing to point at.
  question('q5', 'temporal-reasoning', [], {
    haystack_session_ids: ['answer_b_1', 'sharegpt_a_0'],
    haystack_dates: ['2023/05/25 (Thu) 00:05', '2023/05/20 (Sat) 12:30'],
    haystack_sessions: haystack([]).reverse(),
    answer_session_ids: [],
  }),
];

describe('convertLongMemEval', () => {
  const { samples, report } = convertLongMemEval(fixture);

  it('writes a LoCoMo sample per distinct haystack, with dated sessions and dia_ids', () => {
    expect(samples.map((s) => s.sample_id)).toEqual(['q1', 'q3', 'q5']);
    expect(samples[0]).toEqual({
      sample_id: 'q1',
      conversation: {
        speaker_a: 'user',
        speaker_b: 'assistant',
        session_1_date_time: '2:21 am on 20 May, 2023',
        session_1_longmemeval_id: 'sharegpt_a_0',
        session_1: [
          { speaker: 'user', dia_id: 'D1:1', text: 'I adopted a beagle called Rolo.' },
          { speaker: 'assistant', dia_id: 'D1:2', text: 'Congratulations on Rolo!' },
        ],
        session_2_date_time: '2:05 pm on 25 May, 2023',
        session_2_longmemeval_id: 'answer_b_1',
        session_2: [
          { speaker: 'user', dia_id: 'D2:1', text: 'I love margherita.' },
          { speaker: 'assistant', dia_id: 'D2:2', text: 'Margherita is a classic.' },
          { speaker: 'user', dia_id: 'D2:3', text: 'Rolo hates the vacuum.' },
        ],
      },
      qa: [
        { question: 'question q1?', answer: 'answer q1', evidence: ['D1:1'], category: 'single-session-user', question_id: 'q1', question_date: '9:00 am on 1 June, 2023' },
        { question: 'question q2?', answer: '2', evidence: ['D1:1', 'D2:3'], category: 'multi-session', question_id: 'q2', question_date: '9:00 am on 1 June, 2023' },
      ],
    });
  });

  it('groups only identical haystacks and files _abs questions under abstention', () => {
    expect(samples[1]?.qa.map((q) => [q.question_id, q.category, q.evidence])).toEqual([
      ['q3', 'single-session-preference', ['D2:1']],
      ['q4_abs', 'abstention', ['D2:1', 'D2:2', 'D2:3']],
    ]);
  });

  it('orders sessions by date and numbers evidence after reordering', () => {
    const conv = samples[2]?.conversation;
    expect(conv?.['session_1_longmemeval_id']).toBe('sharegpt_a_0');
    expect(conv?.['session_1_date_time']).toBe('12:30 pm on 20 May, 2023');
    expect(conv?.['session_2_date_time']).toBe('12:05 am on 25 May, 2023');
    expect(samples[2]?.qa[0]?.evidence).toEqual([]);
  });

  it('reports what it did', () => {
    expect(report).toEqual({
      questions: 5,
      conversations: 3,
      sessions: 6,
      turns: 15,
      byCategory: { 'single-session-user': 1, 'multi-session': 1, 'single-session-preference': 1, abstention: 1, 'temporal-reasoning': 1 },
      evidence: { markedTurns: 3, answerSessions: 1, none: 1 },
    });
  });

  it('produces a file the LoCoMo loader reads without dropping evidence', () => {
    const data = parseLocomo(JSON.parse(JSON.stringify(samples)));
    expect(data.dropped).toEqual([]);
    expect(data.noEvidence).toBe(1);
    const first = data.conversations[0];
    expect(first?.turns[2]?.createdAt?.toISOString()).toBe('2023-05-25T14:05:00.000Z');
    expect(first?.questions[1]).toMatchObject({ categoryName: 'multi-session', answer: '2', evidence: ['D1:1', 'D2:3'] });
    expect(first?.questions[1]?.askedAt?.toISOString()).toBe('2023-06-01T09:00:00.000Z');
  });
});

describe('convertLongMemEval refuses what is not the published format, saying where', () => {
  const bad = (extra: Record<string, unknown>): unknown => [question('ok', 'single-session-user', []), question('q9', 'single-session-user', [], extra)];

  it('names the question, its id and the field', () => {
    expect(() => convertLongMemEval(bad({ haystack_sessions: [[{ role: 'system', content: 'x' }], []] }))).toThrow(
      /question 1 \(question_id "q9"\): haystack_sessions\[0\]\[0\]\.role/,
    );
    expect(() => convertLongMemEval(bad({ haystack_dates: ['2023-05-20 02:21', '2023/05/25 (Thu) 14:05'] }))).toThrow(/question 1 .*haystack_dates\[0\]: expected a date/);
    expect(() => convertLongMemEval(bad({ question_type: 'trivia' }))).toThrow(/question 1 .*question_type/);
    expect(() => convertLongMemEval(bad({ haystack_dates: ['2023/05/20 (Sat) 02:21'] }))).toThrow(/must be the same length/);
    expect(() => convertLongMemEval(bad({ question_id: 'ok' }))).toThrow(/question 1: question_id "ok" appears twice/);
  });

  it('refuses a file that is not a list, or holds more than the limit', () => {
    expect(() => convertLongMemEval({ data: [] })).toThrow(/expected a JSON list/);
    expect(() => convertLongMemEval(Array.from({ length: 10_001 }, () => ({})))).toThrow(/at most 10000/);
  });
});

describe('toLocomoDate', () => {
  it('rewrites LongMemEval dates as LoCoMo writes them, and nothing else', () => {
    expect(toLocomoDate('2023/05/20 (Sat) 02:21')).toBe('2:21 am on 20 May, 2023');
    expect(toLocomoDate('2024/01/01 (Mon) 00:05')).toBe('12:05 am on 1 January, 2024');
    expect(toLocomoDate('2023/12/31 (Sun) 12:00')).toBe('12:00 pm on 31 December, 2023');
    expect(toLocomoDate('2023/02/30 (Thu) 10:00')).toBeUndefined();
    expect(toLocomoDate('2023/05/20 (Sat) 24:10')).toBeUndefined();
    expect(toLocomoDate('2023/05/20 02:21')).toBeUndefined();
  });
});

describe('the converter CLI', () => {
  it('converts --in to --out and prints a JSON summary as its last line', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lme-test-'));
    try {
      const input = path.join(dir, 'in.json');
      const output = path.join(dir, 'out.json');
      await writeFile(input, JSON.stringify(fixture));
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/convert-longmemeval.ts', '--in', input, '--out', output]);
      const summary: unknown = JSON.parse(stdout.trim().split('\n').at(-1) ?? '');
      expect(summary).toMatchObject({ questions: 5, conversations: 3 });
      const written: unknown = JSON.parse(await readFile(output, 'utf8'));
      expect(parseLocomo(written).conversations).toHaveLength(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
