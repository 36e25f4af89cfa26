/** Dollars for people: cents with thousands separators, and small amounts to a hundredth of a cent. */
export function formatUsd(usd: number): string {
  if (usd > 0 && usd < 0.0001) return '<$0.0001';
  if (usd > 0 && usd < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toLocaleString('en', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** A share as a whole percentage ("81%"); an unlimited or zero budget has none. */
export function formatShare(spentUsd: number, limitUsd: number | null): string | null {
  if (limitUsd === null || limitUsd <= 0) return null;
  // Rounded down (79.9% is not yet 80%), past float noise: $0.70 of $10 is 7%, not 6.
  return `${Math.floor((spentUsd / limitUsd) * 100 + 1e-9)}%`;
}
