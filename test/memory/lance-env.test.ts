import { describe, expect, it } from 'vitest';
import { configureLance } from '../../src/memory/lance-env.js';

describe('LanceDB environment', () => {
  it('gives LanceDB at least two CPU threads, so an index build cannot hold up every write on a small machine', () => {
    for (const [cores, threads] of [[1, '2'], [2, '2'], [3, '2'], [4, '2'], [8, '6']] as const) {
      const env: NodeJS.ProcessEnv = {};
      configureLance(env, cores);
      expect(env.LANCE_CPU_THREADS, `${cores} cores`).toBe(threads);
    }
  });

  it('keeps what the operator set', () => {
    const env: NodeJS.ProcessEnv = { LANCE_CPU_THREADS: '1', LANCE_INCLUDE_VECTOR_CENTROIDS: 'true' };
    configureLance(env, 2);
    expect(env).toEqual({ LANCE_CPU_THREADS: '1', LANCE_INCLUDE_VECTOR_CENTROIDS: 'true' });
  });

  it('leaves the vector index centroids out of index statistics by default', () => {
    const env: NodeJS.ProcessEnv = {};
    configureLance(env, 2);
    expect(env.LANCE_INCLUDE_VECTOR_CENTROIDS).toBe('false');
  });
});
