/** The benches' summary figures. */

/** The value at fraction `p` of the sorted values (0.5: the median); 0 for none. */
export const percentile = (xs: readonly number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;

/** Two decimals, as the benches print milliseconds. */
export const round = (x: number): number => Math.round(x * 100) / 100;
