import { z } from 'zod';
import { defineTool } from '../define.js';
import type { Tool } from '../types.js';
import type { SearchProvider, SearchResult } from './provider.js';

export const DEFAULT_SEARCH_LIMIT = 5;
export const MAX_SEARCH_LIMIT = 10;
/** Search engines cut queries around here anyway (Brave: 400 characters). */
export const MAX_QUERY_CHARS = 400;

/** "1. Title — URL\n   snippet" per result, numbered so the model can refer to them. */
export function formatResults(results: SearchResult[]): string {
  return results
    .map((result, i) => {
      const head = `${i + 1}. ${result.title} — ${result.url}`;
      return result.snippet === '' ? head : `${head}\n   ${result.snippet}`;
    })
    .join('\n');
}

/** The web_search tool on one provider; offer it only when a provider is configured. */
export function webSearchTool(provider: SearchProvider): Tool {
  return defineTool({
    name: 'web_search',
    description:
      'Search the web for current information, facts you are unsure of, or pages to cite. ' +
      `Returns up to ${MAX_SEARCH_LIMIT} results (default ${DEFAULT_SEARCH_LIMIT}), each a title, URL and short snippet. ` +
      'Snippets are excerpts, not whole pages: open a URL with a page-reading tool, if you have one, before relying on details.',
    input: z.strictObject({
      query: z
        .string()
        .trim()
        .min(1, { error: 'the query is empty' })
        .max(MAX_QUERY_CHARS, { error: `the query is longer than ${MAX_QUERY_CHARS} characters; use fewer, more specific keywords` })
        .describe('What to search for, as you would type it into a search engine, e.g. "node 22 release date".'),
      limit: z
        .number()
        .int()
        .min(1)
        .max(MAX_SEARCH_LIMIT)
        .optional()
        .describe(`How many results to return, 1 to ${MAX_SEARCH_LIMIT} (default ${DEFAULT_SEARCH_LIMIT}).`),
    }),
    risk: 'low',
    idempotent: true,
    // Snippets are other people's words. The query goes only to the operator's provider: no egress.
    untrustedOutput: true,
    async run(args, context) {
      const limit = args.limit ?? DEFAULT_SEARCH_LIMIT;
      const results = await provider.search(args.query, { limit, signal: context.signal });
      context.log.debug({ provider: provider.name, results: results.length }, 'web search done');
      if (results.length === 0) return `No results for ${JSON.stringify(args.query)}. Try other or fewer keywords.`;
      return formatResults(results.slice(0, limit));
    },
  });
}
