import type { BudgetStanding } from '../budget/budgets.js';
import { formatShare, formatUsd } from '../budget/money.js';
import { oneLine } from '../text.js';
import type { Group, Period, Totals } from './summary.js';

/** Text for `/usage`, in Discord markdown. Knows nothing of where the numbers came from. */

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

/** Token counts people can read: 9,876 · 12.3K · 1.2M. */
export function formatTokens(tokens: number): string {
  if (tokens < 10_000) return tokens.toLocaleString('en');
  return new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 }).format(tokens);
}

/** What it cost: unknown costs are said to be unknown, never counted as $0. */
export function formatTotalCost(t: Totals): string {
  const items = t.runs + t.reflections;
  if (t.unknownCost === 0) return formatUsd(t.knownUsd);
  if (t.unknownCost === items) return 'cost unknown';
  return `${formatUsd(t.knownUsd)} + ${plural(t.unknownCost, 'item')} of unknown cost`;
}

function counts(t: Totals): string {
  const parts = [plural(t.runs, 'run')];
  if (t.reflections > 0) parts.push(plural(t.reflections, 'reflection'));
  return parts.join(', ');
}

/** "Today: 3 runs · 12,345 tokens · $0.04", or that there was nothing. */
export function totalsLine(label: string, t: Totals): string {
  if (t.runs + t.reflections === 0) return `${label}: nothing yet`;
  return `${label}: ${counts(t)} · ${formatTokens(t.tokens)} tokens · ${formatTotalCost(t)}`;
}

/** One budget today: spent of the limit, with what runs in progress hold. */
export function budgetLine(label: string, b: BudgetStanding): string {
  const held = b.heldUsd > 0 ? ` · ${formatUsd(b.heldUsd)} held by runs in progress` : '';
  if (b.limitUsd === null) return `${label}: no limit · ${formatUsd(b.spentUsd)} spent today${held}`;
  return `${label}: ${formatUsd(b.spentUsd)} of ${formatUsd(b.limitUsd)} spent today (${formatShare(b.spentUsd, b.limitUsd) ?? '—'})${held}`;
}

export interface PersonalView {
  period: Period;
  user: BudgetStanding;
  /** The server's budget, when asked in a server. */
  server: BudgetStanding | null;
  resetInHours: number;
}

/** What `/usage` shows everyone: their own runs, and the budgets they are held to. */
export function personalText(v: PersonalView): string {
  return [
    '**Your usage** · UTC days · costs are estimates',
    totalsLine('Today', v.period.today),
    totalsLine('This month', v.period.month),
    budgetLine('Your daily budget', v.user),
    ...(v.server === null ? [] : [budgetLine('This server’s daily budget', v.server)]),
    `-# Budgets reset at 00:00 UTC (in about ${v.resetInHours} h). Your runs in every server and DM count toward yours; scheduled runs count for their creator.`,
  ].join('\n');
}

export interface TopRun {
  id: string;
  userId: string;
  usd: number;
  /** Null for a private run: its goal is its owner's alone. */
  goal: string | null;
}

export interface ServerView {
  period: Period;
  people: { top: Group[]; rest: (Period & { count: number }) | null };
  schedules: { top: Group[]; rest: (Period & { count: number }) | null };
  topRuns: TopRun[];
}

function groupLine(label: string, g: Period): string {
  const today = g.today.runs + g.today.reflections === 0 ? 'nothing today' : `today ${formatTotalCost(g.today)}, ${counts(g.today)}`;
  return `• ${label} — ${formatTotalCost(g.month)} · ${counts(g.month)} (${today})`;
}

/** What `/usage` adds for a server's admins: its totals by person and by schedule, and its costliest runs. */
export function serverText(v: ServerView): string {
  const lines = ['**This server** (shown to its admins)', totalsLine('Today', v.period.today), totalsLine('This month', v.period.month)];
  if (v.people.top.length > 0) {
    lines.push('**By person**, this month');
    for (const g of v.people.top) lines.push(groupLine(`<@${g.key}>`, g));
    if (v.people.rest !== null) lines.push(groupLine(plural(v.people.rest.count, 'other person', 'other people'), v.people.rest));
  }
  if (v.schedules.top.length > 0) {
    lines.push('**By schedule**, this month');
    for (const g of v.schedules.top) lines.push(groupLine(`\`${g.key}\``, g));
    if (v.schedules.rest !== null) lines.push(groupLine(plural(v.schedules.rest.count, 'other schedule'), v.schedules.rest));
  }
  if (v.topRuns.length > 0) {
    lines.push('**Top runs by cost**, this month');
    for (const r of v.topRuns) lines.push(`• \`${r.id}\` ${formatUsd(r.usd)} — ${r.goal === null ? '*(a private run)*' : oneLine(r.goal, 60)} · <@${r.userId}>`);
  }
  return lines.join('\n');
}
