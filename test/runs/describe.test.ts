import { describe, expect, it } from 'vitest';
import { runRecordLines } from '../../src/runs/describe.js';
import type { RunRecord } from '../../src/runs/types.js';

const record = (over: Partial<RunRecord>): RunRecord => ({
  runId: 'run-bbbbbb',
  userId: '100000000000000001',
  guildId: null,
  channelId: '300000000000000001',
  goal: 'Make a chart',
  mode: null,
  private: false,
  source: 'slash',
  attachments: [],
  retryOf: null,
  filesOut: [],
  createdAt: 0,
  ...over,
});

describe('/runs show: what a run record adds', () => {
  it('names the run it retries, its retries, and where each file out went', () => {
    const lines = runRecordLines(
      record({
        retryOf: 'run-aaaaaa',
        filesOut: [
          { name: 'chart.png', path: 'out/chart.png', bytes: 2048, posted: true },
          { name: 'dump.csv', path: 'out/dump.csv', bytes: 30 * 1024 * 1024, posted: false },
        ],
      }),
      ['run-cccccc'],
    );
    expect(lines).toEqual([
      '🔁 Retry of `run-aaaaaa`',
      '**Retries**: `run-cccccc`',
      '**Files out**',
      '- chart.png (2 KB), posted',
      '- dump.csv (30 MB), too large for Discord, kept in the workspace: `out/dump.csv`',
    ]);
  });

  it('adds nothing for a plain run, and lists at most a few files of many', () => {
    expect(runRecordLines(record({}), [])).toEqual([]);
    const many = Array.from({ length: 12 }, (_, i) => ({ name: `f${i}.txt`, url: 'https://cdn.discordapp.com/x', size: 10, contentType: null }));
    const lines = runRecordLines(record({ attachments: many }), []);
    expect(lines).toHaveLength(1 + 8 + 1);
    expect(lines.at(-1)).toBe('- … and 4 more');
  });
});
