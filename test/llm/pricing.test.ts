import { describe, expect, it } from 'vitest';
import { buildPriceTable, DEFAULT_PRICES, estimateCostUsd, parsePriceOverrides, priceFor } from '../../src/llm/pricing.js';

describe('priceFor', () => {
  it('finds exact, provider-prefixed and dated names', () => {
    expect(priceFor('gpt-4o-mini', DEFAULT_PRICES)).toEqual({ inputPerMTok: 0.15, outputPerMTok: 0.6 });
    expect(priceFor('openai/gpt-4.1', DEFAULT_PRICES)).toBe(DEFAULT_PRICES['gpt-4.1']);
    expect(priceFor('gpt-4o-mini-2024-07-18', DEFAULT_PRICES)).toBe(DEFAULT_PRICES['gpt-4o-mini']);
    expect(priceFor('gpt-4o-2024-08-06', DEFAULT_PRICES)).toBe(DEFAULT_PRICES['gpt-4o']);
    expect(priceFor('o4-mini-2025-04-16', DEFAULT_PRICES)).toBe(DEFAULT_PRICES['o4-mini']);
  });

  it('does not price a different model by a shorter prefix', () => {
    expect(priceFor('gpt-4o-mini-x', DEFAULT_PRICES)).toBeUndefined();
    expect(priceFor('gpt-5-pro', DEFAULT_PRICES)).toBeUndefined();
    expect(priceFor('gpt-4o-audio-preview', DEFAULT_PRICES)).toBeUndefined();
    expect(priceFor('llama3.1:8b', DEFAULT_PRICES)).toBeUndefined();
    expect(priceFor('constructor', DEFAULT_PRICES)).toBeUndefined();
  });
});

describe('estimateCostUsd', () => {
  it('prices usage and returns null, never 0, for unknown models', () => {
    const usage = { promptTokens: 1_000_000, completionTokens: 500_000 };
    expect(estimateCostUsd(usage, DEFAULT_PRICES['gpt-4o'])).toBeCloseTo(2.5 + 5, 10);
    expect(estimateCostUsd(usage, priceFor('my-local-model', DEFAULT_PRICES))).toBeNull();
    expect(estimateCostUsd({ promptTokens: 0, completionTokens: 0 }, DEFAULT_PRICES['gpt-5'])).toBe(0);
  });
});

describe('price overrides', () => {
  it('adds and replaces entries', () => {
    const table = buildPriceTable('{"my-local-model": {"inputPerMTok": 0, "outputPerMTok": 0}, "gpt-4o": {"inputPerMTok": 1, "outputPerMTok": 2}}');
    expect(priceFor('my-local-model', table)).toEqual({ inputPerMTok: 0, outputPerMTok: 0 });
    expect(estimateCostUsd({ promptTokens: 10, completionTokens: 10 }, priceFor('my-local-model', table))).toBe(0);
    expect(priceFor('gpt-4o-2024-11-20', table)).toEqual({ inputPerMTok: 1, outputPerMTok: 2 });
    expect(priceFor('gpt-4o-mini', table)).toBe(DEFAULT_PRICES['gpt-4o-mini']);
    expect(buildPriceTable(undefined)).toEqual(DEFAULT_PRICES);
    expect(buildPriceTable('  ')).toEqual(DEFAULT_PRICES);
  });

  it('names the bad entry', () => {
    expect(() => parsePriceOverrides('{"x": {"inputPerMTok": -1, "outputPerMTok": 2}}')).toThrow(
      /Price override for "x" is invalid \(inputPerMTok: .*\)/,
    );
    expect(() => parsePriceOverrides('{"y": {"inputPerMTok": 1}}')).toThrow(/"y".*outputPerMTok/);
    expect(() => parsePriceOverrides('{"z": {"inputPerMTok": 1, "outputPerMTok": 2, "cached": 1}}')).toThrow(/"z"/);
    expect(() => parsePriceOverrides('{not json')).toThrow(/not valid JSON/);
    expect(() => parsePriceOverrides('[1]')).toThrow(/JSON object/);
  });
});
