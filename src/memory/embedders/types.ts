/** What the memory store needs from an embedding model, local or remote. */

export interface Embedder {
  /** Stable id recorded with stored vectors, e.g. "local-v1" or "openai:text-embedding-3-small". A change of algorithm must change the id. */
  readonly id: string;
  readonly dimensions: number;
  /** One L2-normalised vector per text, in order. `purpose` lets embedders treat queries and documents differently. */
  embed(texts: readonly string[], options?: { signal?: AbortSignal; purpose?: 'query' | 'document' }): Promise<Float32Array[]>;
  /**
   * Suggested weight of this embedder's ranking against the BM25 ranking (weight 1) when the two
   * are fused; absent means equal weight.
   */
  readonly fusionWeight?: number;
}
