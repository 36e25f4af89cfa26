import { describe, expect, it } from 'vitest';
import { QUIET_REFRESH_DUTY, refreshDelayMs } from '../../src/memory/refresh-cadence.js';

describe('when new memories are folded into the indexes', () => {
  it('at once when enough writes have piled up, however long the last refresh took', () => {
    expect(refreshDelayMs(true, 1_000, 20_000)).toBe(0);
  });

  it('after a quiet second while refreshes are cheap (a small table)', () => {
    expect(refreshDelayMs(false, 1_000, 0)).toBe(1_000);
    expect(refreshDelayMs(false, 1_000, 150)).toBe(1_000);
  });

  it('spaced so that quiet-time refreshes take at most a quarter of the time once they are slow (a large table)', () => {
    expect(QUIET_REFRESH_DUTY).toBe(0.25);
    // 2.5 s at 100k memories: the next one at least 7.5 s later; 20 s at a million: a minute.
    expect(refreshDelayMs(false, 1_000, 2_500)).toBe(7_500);
    expect(refreshDelayMs(false, 1_000, 20_000)).toBe(60_000);
    for (const last of [400, 2_500, 20_000]) {
      const wait = refreshDelayMs(false, 1_000, last);
      expect(last / (last + wait)).toBeLessThanOrEqual(QUIET_REFRESH_DUTY);
    }
  });
});
