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
