import { describe, expect, it } from 'vitest';
import { RunSuspension } from '../../src/agent/journal.js';
import { RunRegistry, type ActiveRun } from '../../src/discord/runs.js';

/** A run that ends when its signal fires, keeping why. */
function running(runId: string): { run: ActiveRun; reason: () => unknown } {
  const controller = new AbortController();
  const done = new Promise<void>((resolve) => {
    controller.signal.addEventListener('abort', () => {
      resolve();
    });
  });
  const run: ActiveRun = { runId, userId: 'u', channelId: 'c', guildId: null, private: false, scheduled: false, controller, done };
  return { run, reason: () => controller.signal.reason as unknown };
}

describe('draining runs at shutdown', () => {
  it('pauses the runs recorded as durable and cancels the others (a run still downloading its files is not recorded yet)', async () => {
    const runs = new RunRegistry();
    const recorded = running('r-recorded');
    const downloading = running('r-downloading');
    runs.add(recorded.run);
    runs.add(downloading.run);
    runs.markDurable('r-recorded');
    expect(runs.inFlight().count).toBe(2);
    const left = await runs.drain(0, 100);
    expect(left.map((r) => r.runId).sort()).toEqual(['r-downloading', 'r-recorded']);
    expect(recorded.reason()).toBeInstanceOf(RunSuspension);
    expect(downloading.reason()).toBe('the bot is restarting');
    expect(runs.inFlight()).toEqual({ count: 0, oldestStartedAt: null });
  });
});
