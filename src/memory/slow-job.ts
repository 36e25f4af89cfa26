import type { Logger } from '../log.js';

/**
 * Logs an error each `slowMs` while a job runs, and returns the function that stops it. LanceDB
 * calls cannot be cancelled: one that never returns (lancedb#3568 hung optimize for good on 2-3
 * cores) stops every later maintenance job, and only a restart recovers, so it must be seen.
 */
export function watchSlowJob(job: string, slowMs: number, log: Logger): () => void {
  const started = performance.now();
  const timer = setInterval(() => {
    const minutes = Math.round((performance.now() - started) / 60_000);
    log.error({ job, minutes }, 'memory maintenance job still running; indexes are not being updated meanwhile (restart Cairn if this persists)');
  }, slowMs);
  timer.unref();
  return () => {
    clearInterval(timer);
  };
}
