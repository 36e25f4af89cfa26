import { describe, expect, it } from 'vitest';
import { timeWindowOf } from '../../src/memory/query/time-window.js';

const NOW = Date.UTC(2025, 5, 20, 15, 30);
const day = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d);

describe('timeWindowOf', () => {
  it.each([
    ['What did Ana do in May 2023?', day(2023, 5, 1), day(2023, 6, 1)],
    ['what happened on 8 May, 2023', day(2023, 5, 8), day(2023, 5, 9)],
    ['anything from March 3rd, 2024?', day(2024, 3, 3), day(2024, 3, 4)],
    ['the notes of 2024-02-29', day(2024, 2, 29), day(2024, 3, 1)],
    ['what did we decide in 2022', day(2022, 1, 1), day(2023, 1, 1)],
    ['what did we ship yesterday', day(2025, 6, 19), day(2025, 6, 20)],
    ['what came up last week', day(2025, 6, 6), day(2025, 6, 20)],
  ])('%s', (text, since, until) => {
    expect(timeWindowOf(text, NOW)).toEqual({ since, until });
  });

  it('places "N units ago" around that day', () => {
    const window = timeWindowOf('the bug we found 2 weeks ago', NOW);
    expect(window?.since).toBeLessThanOrEqual(day(2025, 6, 6));
    expect(window?.until).toBeGreaterThan(day(2025, 6, 6));
  });

  it.each(['what is the budget?', 'who joined in May?', 'room 2023 is booked', 'the 5 people'])('finds no time in "%s"', (text) => {
    expect(timeWindowOf(text, NOW)).toBeUndefined();
  });
});
