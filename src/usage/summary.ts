import { DAY_MS } from '../budget/daily-budget.js';
import type { FigureRow, ServerUsageRow } from './store.js';

/** Counts and sums over some usage rows. Unknown costs are counted, never added as $0. */
export interface Totals {
  runs: number;
  reflections: number;
  tokens: number;
  /** The sum of the known costs. */
  knownUsd: number;
  /** Rows whose cost is unknown (no price for the model). */
  unknownCost: number;
}

export interface Period {
  today: Totals;
  month: Totals;
}

export interface Group extends Period {
  key: string;
}

/** The first moment of the UTC day and month holding `now`, epoch ms. */
export function periodStarts(now: number): { dayStart: number; monthStart: number } {
  const date = new Date(now);
  return { dayStart: Math.floor(now / DAY_MS) * DAY_MS, monthStart: Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1) };
}

export const emptyTotals = (): Totals => ({ runs: 0, reflections: 0, tokens: 0, knownUsd: 0, unknownCost: 0 });

function add(totals: Totals, row: FigureRow): void {
  if (row.kind === 'run') totals.runs += 1;
  else totals.reflections += 1;
  totals.tokens += row.prompt_tokens + row.completion_tokens;
  if (row.usd === null) totals.unknownCost += 1;
  else totals.knownUsd += row.usd;
}

/** Today's and this month's totals of rows read since the month began. */
export function periodOf(rows: readonly FigureRow[], dayStart: number): Period {
  const period = { today: emptyTotals(), month: emptyTotals() };
  for (const row of rows) {
    add(period.month, row);
    if (row.at >= dayStart) add(period.today, row);
  }
  return period;
}

/** Most spent first: known cost, then how much was run. */
const byCost = (a: Group, b: Group) => b.month.knownUsd - a.month.knownUsd || b.month.tokens - a.month.tokens || a.key.localeCompare(b.key);

/** Rows grouped by `keyOf` (rows it gives null are left out), most spent first. */
export function groupsOf(rows: readonly ServerUsageRow[], keyOf: (row: ServerUsageRow) => string | null, dayStart: number): Group[] {
  const groups = new Map<string, ServerUsageRow[]>();
  for (const row of rows) {
    const key = keyOf(row);
    if (key === null) continue;
    const list = groups.get(key);
    if (list === undefined) groups.set(key, [row]);
    else list.push(row);
  }
  return [...groups].map(([key, list]) => ({ key, ...periodOf(list, dayStart) })).sort(byCost);
}

/** The first `n` groups, and the rest summed (null when there is no rest). */
export function topAndRest(groups: readonly Group[], n: number): { top: Group[]; rest: (Period & { count: number }) | null } {
  const top = groups.slice(0, n);
  const others = groups.slice(n);
  if (others.length === 0) return { top, rest: null };
  const rest = { today: emptyTotals(), month: emptyTotals(), count: others.length };
  for (const g of others) {
    for (const part of ['today', 'month'] as const) {
      const into = rest[part];
      const from = g[part];
      into.runs += from.runs;
      into.reflections += from.reflections;
      into.tokens += from.tokens;
      into.knownUsd += from.knownUsd;
      into.unknownCost += from.unknownCost;
    }
  }
  return { top, rest };
}

/** The `n` runs that cost most (known costs only), most first. */
export function topRuns(rows: readonly ServerUsageRow[], n: number): (ServerUsageRow & { usd: number })[] {
  return rows
    .filter((r): r is ServerUsageRow & { usd: number } => r.kind === 'run' && r.usd !== null && r.usd > 0)
    .sort((a, b) => b.usd - a.usd)
    .slice(0, n);
}
