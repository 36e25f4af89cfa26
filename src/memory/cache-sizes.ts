/** LanceDB's in-memory caches, in MiB: index pages, and file/manifest metadata. */
export interface CacheSizes {
  index: number;
  metadata: number;
}

/**
 * LanceDB's defaults are 6 GiB of index cache and 1 GiB of metadata cache, and every commit,
 * compaction and index update leaves entries for files and versions that no longer exist: under
 * a stream of turns the bot's memory grew ~0.6 MB a turn, nearly all of it the metadata cache
 * (bench:soak). Recall needs the indexes cached (at 100k memories LanceDB counted ~3 KiB of
 * index cache a memory; with 64 MiB recall went from 23 to 296 ms), not old metadata (16 MiB
 * left 100k-memory recall unchanged).
 */
export const METADATA_CACHE_MB = 16;
const INDEX_CACHE_KIB_PER_MEMORY = 4;
const MIN_INDEX_CACHE_MB = 256;

/** Room for the indexes of a table of `maxMemories` rows (CAIRN_MEMORY_MAX_ROWS), with some to spare. */
export function indexCacheMbFor(maxMemories: number): number {
  return Math.max(MIN_INDEX_CACHE_MB, Math.ceil((maxMemories * INDEX_CACHE_KIB_PER_MEMORY) / 1024));
}

/** For the default cap of 200,000 memories: 782 MiB of index cache. */
export const DEFAULT_CACHE_MB: CacheSizes = { index: indexCacheMbFor(200_000), metadata: METADATA_CACHE_MB };

/** An index cache bound for the memories table, and the rows it has room for. */
export interface IndexCachePlan {
  mb: number;
  rows: number;
}

/** Small tables get this much all the same: a few thousand memories' indexes need ~10 MiB. */
const MIN_MEMORIES_INDEX_CACHE_MB = 32;

/**
 * The index cache for a memories table of `rows` rows, within `capMb`: 8 KiB a row, for live
 * indexes of ~2-3 KiB a row (measured) plus room for the table to double and for replaced index
 * files, which LRU eviction drops once the cache is full. The plan's `rows`: the size at which
 * only 4 KiB a row is left, past which the cache is outgrown and replaced (memories-handle.ts),
 * so a table growing from nothing to a million rows changes caches seven times.
 */
export function memoriesIndexCachePlan(rows: number, capMb: number): IndexCachePlan {
  const mb = Math.min(capMb, Math.max(MIN_MEMORIES_INDEX_CACHE_MB, Math.ceil((rows * 2 * INDEX_CACHE_KIB_PER_MEMORY) / 1024)));
  return { mb, rows: Math.floor((mb * 1024) / INDEX_CACHE_KIB_PER_MEMORY) };
}

/**
 * The index cache of the connection every other table and maintenance use: those tables have no
 * indexes, and an index update reads the indexes it replaces once, so caching them buys nothing.
 */
export const OTHER_TABLES_INDEX_CACHE_MB = 32;
