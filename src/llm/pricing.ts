/**
 * Token prices for cost estimates. Unknown models cost `null`, never 0, so a report cannot
 * claim a run was free when we simply do not know the price.
 */
import { z } from 'zod';
import type { TokenUsage } from './types.js';

/** USD per million tokens. */
export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
}

export type PriceTable = Record<string, ModelPrice>;

/** OpenAI list prices (standard tier) as last checked; override with CAIRN_PRICES. */
export const DEFAULT_PRICES: PriceTable = {
  'gpt-4o': { inputPerMTok: 2.5, outputPerMTok: 10 },
  'gpt-4o-mini': { inputPerMTok: 0.15, outputPerMTok: 0.6 },
  'gpt-4.1': { inputPerMTok: 2, outputPerMTok: 8 },
  'gpt-4.1-mini': { inputPerMTok: 0.4, outputPerMTok: 1.6 },
  'gpt-4.1-nano': { inputPerMTok: 0.1, outputPerMTok: 0.4 },
  o3: { inputPerMTok: 2, outputPerMTok: 8 },
  'o4-mini': { inputPerMTok: 1.1, outputPerMTok: 4.4 },
  'gpt-5': { inputPerMTok: 1.25, outputPerMTok: 10 },
  'gpt-5-mini': { inputPerMTok: 0.25, outputPerMTok: 2 },
  'gpt-5-nano': { inputPerMTok: 0.05, outputPerMTok: 0.4 },
};

const Price = z.strictObject({
  inputPerMTok: z.number().nonnegative(),
  outputPerMTok: z.number().nonnegative(),
});

/**
 * Parses price overrides, e.g. `{"my-model": {"inputPerMTok": 0.2, "outputPerMTok": 0.8}}`.
 * Throws an Error naming the first bad entry.
 */
export function parsePriceOverrides(text: string): PriceTable {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('Price overrides are not valid JSON. Expected {"model": {"inputPerMTok": n, "outputPerMTok": n}}.');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error('Price overrides must be a JSON object mapping model names to prices.');
  }
  const table: PriceTable = {};
  for (const [model, value] of Object.entries(json)) {
    if (model.trim() === '') throw new Error('Price overrides contain an empty model name.');
    const parsed = Price.safeParse(value);
    if (!parsed.success) {
      const problems = parsed.error.issues
        .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
        .join('; ');
      throw new Error(
        `Price override for "${model}" is invalid (${problems}). Expected {"inputPerMTok": n, "outputPerMTok": n} in USD per million tokens.`,
      );
    }
    table[model] = parsed.data;
  }
  return table;
}

/** The built-in table with overrides layered on top (overrides win). */
export function buildPriceTable(overridesText?: string): PriceTable {
  return overridesText?.trim() ? { ...DEFAULT_PRICES, ...parsePriceOverrides(overridesText) } : { ...DEFAULT_PRICES };
}

// Only date or version suffixes count as the same model: `gpt-4o-mini-2024-07-18` is gpt-4o-mini,
// but `gpt-5-pro` or `gpt-4o-audio-preview` are priced differently from their prefix.
const VERSION_SUFFIX = /^(-(\d+|latest))+$/;

/**
 * The price of `model`: exact name, then without a provider prefix (`openai/gpt-4o`), then the
 * longest known name of which it is a dated variant. Undefined when unknown.
 */
export function priceFor(model: string, table: PriceTable): ModelPrice | undefined {
  const exact = lookup(table, model);
  if (exact) return exact;
  const bare = model.slice(model.lastIndexOf('/') + 1);
  const plain = lookup(table, bare);
  if (plain) return plain;
  let best: string | undefined;
  for (const name of Object.keys(table)) {
    if (!bare.startsWith(name) || !VERSION_SUFFIX.test(bare.slice(name.length))) continue;
    if (best === undefined || name.length > best.length) best = name;
  }
  return best === undefined ? undefined : lookup(table, best);
}

/** Own keys only, so names like "constructor" never hit Object.prototype. */
function lookup(table: PriceTable, name: string): ModelPrice | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

/** Cost in USD, or null when the price is unknown (never a misleading 0). */
export function estimateCostUsd(usage: TokenUsage, price: ModelPrice | undefined): number | null {
  if (!price) return null;
  return (usage.promptTokens * price.inputPerMTok + usage.completionTokens * price.outputPerMTok) / 1_000_000;
}
