import type { BudgetRefusal, ServerBudgetWarning } from './budgets.js';
import { formatShare, formatUsd } from './money.js';

const RESETS = (hours: number) => `It resets at 00:00 UTC (in about ${hours} h).`;
const CHANGE_SERVER = 'Server admins can change it with `/config set server_daily_budget_usd`.';

/** The refusal a person sees (privately) when a budget stops their run: which budget, how far, when, who can change it. */
export function refusalForPerson(r: BudgetRefusal): string {
  const spent = `${formatUsd(r.spentUsd)} spent today${r.heldUsd > 0 ? `, ${formatUsd(r.heldUsd)} held by runs in progress` : ''}`;
  if (r.budget === 'server') {
    return `This server's daily budget of ${formatUsd(r.limitUsd)} is used up (${spent}). ${RESETS(r.resetInHours)} ${CHANGE_SERVER}`;
  }
  // Admins may set a person's budget per server, though never above what Cairn's operator allows.
  const who = r.guildId === null ? '' : ' Server admins can change it here with `/config set user_daily_budget_usd`, up to the limit Cairn’s operator set.';
  return `You have used your daily budget of ${formatUsd(r.limitUsd)} (or it is held by your runs in progress): ${spent}. ${RESETS(r.resetInHours)}${who}`;
}

/** Why a scheduled run did not start, completing "Schedule x was not run: …" and the creator's notice. */
export function refusalForSchedule(r: BudgetRefusal): string {
  const spent = `${formatUsd(r.spentUsd + r.heldUsd)} spent or held today; it resets at 00:00 UTC, in about ${r.resetInHours} h`;
  if (r.budget === 'server') return `this server's daily budget of ${formatUsd(r.limitUsd)} is spent (${spent}). ${CHANGE_SERVER}`;
  return `its creator's daily budget of ${formatUsd(r.limitUsd)} is spent (${spent})`;
}

/** The once-a-day notice to a server's admins that 80% of its budget is spent. */
export function serverWarningText(w: ServerBudgetWarning): string {
  const share = formatShare(w.spentUsd, w.limitUsd) ?? '';
  return [
    `⚠️ **For this server's admins:** Cairn has spent ${formatUsd(w.spentUsd)} of this server's daily budget of ${formatUsd(w.limitUsd)} today (${share}).`,
    `New runs and scheduled runs stop once it is spent; it resets at 00:00 UTC (in about ${w.resetInHours} h).`,
    `Change it with \`/config set server_daily_budget_usd\`; \`/usage\` shows who and what spent it.`,
  ].join(' ');
}
