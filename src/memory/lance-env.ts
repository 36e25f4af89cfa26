import os from 'node:os';

/**
 * LanceDB settings read from the environment when it first needs them, set before the first
 * connection unless the operator set them:
 *
 * - LANCE_CPU_THREADS: LanceDB runs CPU work (encoding a write, building an index) on a pool of
 *   max(1, cores - 2) threads, so on 2-3 cores one thread, which an index build holds for its whole
 *   length. Measured here (2 cores, 60k rows): one-row appends during a 12-s vector index build
 *   waited up to 11.3 s (34 got through); with 2 threads p50 9 ms, max 38 ms (780), the build 33 %
 *   slower. So at least 2.
 * - LANCE_INCLUDE_VECTOR_CENTROIDS: maintenance reads the vector index's statistics after each
 *   optimize; LanceDB includes the index's centroids in them unless told not to (and warns).
 */
export function configureLance(env: NodeJS.ProcessEnv = process.env, cores = os.availableParallelism()): void {
  if (!env.LANCE_CPU_THREADS) env.LANCE_CPU_THREADS = String(Math.max(2, cores - 2));
  env.LANCE_INCLUDE_VECTOR_CENTROIDS ??= 'false';
}
