import { describe, expect, it } from 'vitest';
import { joinReasoning, ReasoningSplitter, splitReasoning, type SplitterOptions } from '../../src/llm/reasoning.js';

/** Streams `content` in the given pieces; returns what was passed on as text, and the final split. */
function stream(pieces: string[], options?: SplitterOptions) {
  const splitter = new ReasoningSplitter(options);
  const pushed = pieces.map((piece) => splitter.push(piece).text);
  const deltas = [...pushed, splitter.end().text];
  return { streamed: deltas.join(''), deltas: deltas.filter((d) => d !== ''), pushed, split: splitter.result(), splitter };
}

/** Every way of cutting `content` in two, and one character at a time. */
function chunkings(content: string): string[][] {
  const cuts = Array.from({ length: content.length + 1 }, (_, i) => [content.slice(0, i), content.slice(i)]);
  return [...cuts, Array.from(content)];
}

describe('splitReasoning', () => {
  it('leaves a reply without reasoning tags exactly as it is', () => {
    expect(splitReasoning('  The answer is 42.\n')).toEqual({ reasoning: null, text: '  The answer is 42.\n' });
    expect(splitReasoning('Use <b>bold</b> and a <thinker> tag; 1 < 2.')).toEqual({ reasoning: null, text: 'Use <b>bold</b> and a <thinker> tag; 1 < 2.' });
    expect(splitReasoning('')).toEqual({ reasoning: null, text: '' });
  });

  it('takes <think>, <thinking> and <reasoning> blocks out, whatever their case and leading whitespace', () => {
    expect(splitReasoning('<think>\nSix times seven.\n</think>\n\n42')).toEqual({ reasoning: 'Six times seven.', text: '42' });
    expect(splitReasoning('\n  <THINK>Upper case.</Think>42')).toEqual({ reasoning: 'Upper case.', text: '42' });
    expect(splitReasoning('<thinking>Claude-style.</thinking> 42')).toEqual({ reasoning: 'Claude-style.', text: '42' });
    expect(splitReasoning('<reasoning>Plain.</reasoning>\n42')).toEqual({ reasoning: 'Plain.', text: '42' });
  });

  it('takes out several blocks, keeping their texts apart', () => {
    expect(splitReasoning('<think>First.</think>\nPart one. <think>Second.</think>\nPart two.')).toEqual({
      reasoning: 'First.\n\nSecond.',
      text: 'Part one. Part two.',
    });
  });

  it('treats everything before a lone closing tag as reasoning (the template opened the block)', () => {
    expect(splitReasoning('Okay, the user wants 6×7.\n</think>\n\n42')).toEqual({ reasoning: 'Okay, the user wants 6×7.', text: '42' });
    // After a real block, a stray closing tag is just text.
    expect(splitReasoning('<think>a</think>Close with </think>.')).toEqual({ reasoning: 'a', text: 'Close with </think>.' });
  });

  it('treats an unclosed block as reasoning to the end (the model ran out of tokens mid-thought)', () => {
    expect(splitReasoning('<think>\nLet me think about this carefully and')).toEqual({ reasoning: 'Let me think about this carefully and', text: '' });
    expect(splitReasoning('<think></think>\n\nNo thoughts needed.')).toEqual({ reasoning: null, text: 'No thoughts needed.' });
  });

  it('keeps an answer that only looks like the start of a tag', () => {
    expect(splitReasoning('<thi')).toEqual({ reasoning: null, text: '<thi' });
    expect(splitReasoning('a </th')).toEqual({ reasoning: null, text: 'a </th' });
  });
});

describe('ReasoningSplitter (streams)', () => {
  const samples = [
    '<think>\nSix times seven.\n</think>\n\n42',
    '  <Thinking>x</thinking>The answer',
    'Before <reasoning>mid</reasoning> after',
    'Text with <b>tags</b> and <thinker>',
    '<think>never closed',
    'Answer <thi',
  ];

  it('agrees with the whole-text split however the content is cut, and never passes on part of a tag', () => {
    for (const content of samples) {
      const whole = splitReasoning(content);
      for (const pieces of chunkings(content)) {
        const { streamed, pushed, split } = stream(pieces);
        expect(split).toEqual(whole);
        // Streamed text is the answer as it arrives: untrimmed, but with nothing of the thoughts.
        expect(streamed.trim()).toBe(whole.text.trim());
        // Until the end, a possible tag is held back rather than passed on in part.
        for (const delta of pushed) expect(delta).not.toMatch(/<\/?(t|th|thi|thin|think|thinki|thinkin|thinking|r|re|rea|reas|reaso|reason|reasoni|reasonin|reasoning)?$/i);
      }
    }
  });

  it('reports text it already passed on that a lone closing tag turned into reasoning', () => {
    const { streamed, split, splitter } = stream(['Hmm, the user', ' asks 6×7.\n</th', 'ink>\n\n42']);
    expect(split).toEqual({ reasoning: 'Hmm, the user asks 6×7.', text: '42' });
    expect(streamed).toBe('Hmm, the user asks 6×7.\n42');
    expect(splitter.retracted).toBe(true);
    expect(splitter.openedByTemplate).toBe(true);
  });

  it('holds text back when the template is known to open the block, so no thought is streamed', () => {
    const opened = stream(['Hmm, the user', ' asks 6×7.\n</th', 'ink>\n\n42'], { opened: true });
    expect(opened.deltas).toEqual(['42']);
    expect(opened.split).toEqual({ reasoning: 'Hmm, the user asks 6×7.', text: '42' });
    expect(opened.splitter.retracted).toBe(false);
    // No closing tag after all: the held text was the answer.
    const plain = stream(['Just ', 'an answer.'], { opened: true });
    expect(plain.deltas).toEqual(['Just an answer.']);
    expect(plain.split).toEqual({ reasoning: null, text: 'Just an answer.' });
    // Every way of streaming agrees with the whole-text split, held or not.
    for (const content of ['Part one. <think>x</think> part two.', 'Thought.</think>Answer.', '<think>a</think>b']) {
      for (const pieces of chunkings(content)) expect(stream(pieces, { opened: true }).split).toEqual(splitReasoning(content));
    }
  });

  it('does linear work on long input in tiny chunks', () => {
    const splitter = new ReasoningSplitter();
    const started = performance.now();
    splitter.push('<think>');
    for (let i = 0; i < 100_000; i++) splitter.push(i % 2 === 0 ? '<' : ' x ');
    splitter.push('</think>');
    for (let i = 0; i < 100_000; i++) splitter.push(i % 2 === 0 ? '<' : '\n');
    splitter.end();
    expect(performance.now() - started).toBeLessThan(2_000);
    const { reasoning, text } = splitter.result();
    expect(reasoning?.length).toBeGreaterThan(100_000);
    expect(text.length).toBeGreaterThan(99_000);
  });
});

describe('joinReasoning', () => {
  it('keeps reasoning sent both in a field and in tags once (llama.cpp deepseek-legacy)', () => {
    expect(joinReasoning(' Same. ', 'Same.')).toBe('Same.');
    expect(joinReasoning('Field.', 'Tags.')).toBe('Field.\n\nTags.');
    expect(joinReasoning('', 'Tags.')).toBe('Tags.');
    expect(joinReasoning(undefined, null)).toBeNull();
  });
});
