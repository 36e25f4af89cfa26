import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) } };
}

describe('logging', () => {
  it('writes JSON lines carrying the run id of a child logger', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', destination });
    log.child({ runId: 'run-123' }).info({ step: 2 }, 'step done');
    const entry = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    expect(entry).toMatchObject({ runId: 'run-123', step: 2, msg: 'step done', level: 30 });
  });

  it('redacts secrets by field name and by value wherever they appear', () => {
    const { lines, destination } = capture();
    const key = 'sk-live-0123456789abcdef';
    const log = createLogger({ level: 'info', destination, secrets: [key, undefined, 'short'] });
    log.info({ apiKey: key, headers: { authorization: `Bearer ${key}` }, config: { llm: { token: 'xyz-some-token' } } }, 'calling');
    log.error({ err: new Error(`request to https://api.example/v1?key=${key} failed`) }, `failed with ${key}`);
    const text = lines.join('');
    expect(text).not.toContain(key);
    expect(text).not.toContain('xyz-some-token');
    expect(text).toContain('[REDACTED]');
    // Short configured values are not scrubbed: they would mangle ordinary words.
    expect(JSON.parse(lines[1] ?? '')).toMatchObject({ msg: 'failed with [REDACTED]' });
  });

  it('respects the level', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'warn', destination });
    log.info('hidden');
    log.warn('shown');
    expect(lines).toHaveLength(1);
  });
});
