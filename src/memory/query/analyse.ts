import { tokenize } from '../embedders/tokenize.js';
import type { QueryAnalysis } from './rerank.js';
import { contentStems } from './terms.js';
import { timeWindowOf } from './time-window.js';

/** Everything the reranker needs from the query text, computed once per recall. */
export function analyseQuery(query: string, now: number): QueryAnalysis {
  return { words: new Set(tokenize(query)), stems: contentStems(query), window: timeWindowOf(query, now) };
}
