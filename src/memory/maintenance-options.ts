/** What memory maintenance (src/memory/maintenance.ts) does when, and the size caps it keeps. */
export interface MaintenanceOptions {
  /** Size cap of the memories table; above it the tenants holding the most rows lose their least valuable ones. */
  maxMemories: number;
  /** Rows one server may keep; above it that server loses its least valuable rows. */
  maxMemoriesPerServer: number;
  /** Rows one user (with their schedules) may keep in one server or in their DMs; above it they lose their own. */
  maxMemoriesPerUser: number;
  /** Compact and fold new rows into the indexes after this many inserts. */
  optimizeEveryRows: number;
  /** … or after this many saves (each adds a small file every later lookup reads until then). */
  optimizeEveryWrites: number;
  /** Build the approximate (HNSW) vector index once the table has this many rows; flat search below. */
  vectorIndexMinRows: number;
  /**
   * How often buffered access counts are written. Rarely: LanceDB rewrites an updated row, which
   * leaves every index until the next optimize (100 recalls took 799 rows out of all six), so each
   * flush is followed by one.
   */
  accessFlushMs: number;
  /** Quiet time after a write before new rows are folded into the indexes. */
  indexRefreshDelayMs: number;
  /** How often expired rows are deleted and the size cap enforced. */
  sweepEveryMs: number;
  /** A job running longer than this is logged as an error, and again each time as long again. */
  slowJobMs: number;
}

export const DEFAULT_MAINTENANCE: MaintenanceOptions = {
  maxMemories: 200_000,
  // No per-tenant quotas unless asked: the app sets them from CAIRN_MEMORY_MAX_ROWS_PER_*, while
  // benches and tests fill one user's memory on purpose.
  maxMemoriesPerServer: Number.POSITIVE_INFINITY,
  maxMemoriesPerUser: Number.POSITIVE_INFINITY,
  optimizeEveryRows: 2_000,
  optimizeEveryWrites: 32,
  vectorIndexMinRows: 2_000,
  accessFlushMs: 10 * 60_000,
  indexRefreshDelayMs: 1_000,
  sweepEveryMs: 10 * 60_000,
  // A full vector index build at 1M rows takes minutes here; a job past this is stuck, not slow.
  slowJobMs: 30 * 60_000,
};
