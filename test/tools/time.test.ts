import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { builtinTools } from '../../src/tools/builtin/index.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import { toolCall, toolContext } from './helpers.js';

const timeResult = z.object({
  iso: z.string(),
  utc: z.string(),
  timezone: z.string(),
  utcOffset: z.string(),
  weekday: z.string(),
  local: z.string(),
});

const registry = new ToolRegistry(builtinTools());

async function currentTime(args: unknown): Promise<{ ok: boolean; content: string }> {
  return registry.run(toolCall('current_time', args), toolContext('/nonexistent-workspace'));
}

describe('current_time', () => {
  beforeEach(() => {
    // Only Date is faked, so nothing else in the registry waits on fake timers.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2024-07-01T12:34:56.000Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports the time in a named zone with its offset and weekday', async () => {
    const outcome = await currentTime({ timezone: 'Asia/Tokyo' });
    expect(outcome.ok).toBe(true);
    expect(timeResult.parse(JSON.parse(outcome.content))).toMatchObject({
      iso: '2024-07-01T21:34:56+09:00',
      utc: '2024-07-01T12:34:56.000Z',
      timezone: 'Asia/Tokyo',
      utcOffset: '+09:00',
      weekday: 'Monday',
    });
  });

  it('handles daylight saving, zero offsets and the day boundary', async () => {
    const ny = timeResult.parse(JSON.parse((await currentTime({ timezone: 'America/New_York' })).content));
    expect(ny.iso).toBe('2024-07-01T08:34:56-04:00');
    const utc = timeResult.parse(JSON.parse((await currentTime({ timezone: 'UTC' })).content));
    expect(utc.iso).toBe('2024-07-01T12:34:56+00:00');
    vi.setSystemTime(new Date('2024-07-01T23:30:00.000Z'));
    const auckland = timeResult.parse(JSON.parse((await currentTime({ timezone: 'Pacific/Auckland' })).content));
    expect(auckland).toMatchObject({ iso: '2024-07-02T11:30:00+12:00', weekday: 'Tuesday' });
    expect(auckland.local).toContain('Tuesday, July 2, 2024');
  });

  it('defaults to the server zone', async () => {
    const result = timeResult.parse(JSON.parse((await currentTime({})).content));
    expect(result.timezone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
    expect(result.utc).toBe('2024-07-01T12:34:56.000Z');
  });

  it('refuses an unknown zone with an example of a valid one', async () => {
    const outcome = await currentTime({ timezone: 'Mars/Olympus_Mons' });
    expect(outcome.ok).toBe(false);
    expect(outcome.content).toContain('unknown time zone "Mars/Olympus_Mons"');
    expect(outcome.content).toContain('"Europe/Paris"');
  });
});
