/**
 * Share of the time quiet-time index refreshes may take. Each refresh rewrites the scalar and
 * full-text indexes whole (LanceDB's Node API cannot append a delta), ~2-3 s at 100k memories,
 * and on a quiet server every isolated save would start one.
 */
export const QUIET_REFRESH_DUTY = 0.25;

/**
 * How long to wait before folding new rows into the indexes: at once when enough writes piled up
 * (each adds a file every dedupe lookup reads), otherwise after `quietMs` without writes, and
 * never sooner than keeps quiet-time refreshes within QUIET_REFRESH_DUTY of the time, going by
 * how long the last one took.
 */
export function refreshDelayMs(due: boolean, quietMs: number, lastRefreshMs: number): number {
  if (due) return 0;
  return Math.max(quietMs, Math.round(lastRefreshMs * (1 / QUIET_REFRESH_DUTY - 1)));
}
