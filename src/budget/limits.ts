/**
 * How much may be spent per UTC day, by whom, where. The environment gives the defaults; per-server
 * settings (`user_daily_budget_usd`, `server_daily_budget_usd`) will implement this port too.
 * It is read on every run start, synchronously — reservations must be taken in one step so that
 * concurrent runs cannot both pass a budget — so an implementation answers from memory.
 */
export interface BudgetLimits {
  /**
   * Each person's spend per UTC day when they run in `guildId` (null: a DM or the terminal). A
   * person's spend is one account across every server; a server's value only changes the limit
   * their runs there are held to.
   */
  userDailyUsd(guildId: string | null): number;
  /** The server's spend per UTC day, everyone together; null: no server-wide limit (always null for a DM). */
  serverDailyUsd(guildId: string | null): number | null;
}

/** The process defaults: CAIRN_DAILY_BUDGET_USD for each person, CAIRN_SERVER_DAILY_BUDGET_USD for each server. */
export function envBudgetLimits(config: { dailyBudgetUsd: number; serverDailyBudgetUsd: number | null }): BudgetLimits {
  return {
    userDailyUsd: () => config.dailyBudgetUsd,
    serverDailyUsd: (guildId) => (guildId === null ? null : config.serverDailyBudgetUsd),
  };
}

/** The account a server's spend is booked to in the budget and the spend ledger. */
export function serverAccount(guildId: string): string {
  return `guild:${guildId}`;
}
