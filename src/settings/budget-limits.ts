/**
 * The budgets port (src/budget/limits.ts) answered from per-server settings: a server's
 * `user_daily_budget_usd` and `server_daily_budget_usd`, which inherit the environment's values and
 * can only lower them (src/settings/keys.ts). Synchronous: settings are resolved from memory.
 */
import type { BudgetLimits } from '../budget/limits.js';
import type { SettingsReader } from './types.js';

export function settingsBudgetLimits(settings: SettingsReader): BudgetLimits {
  // Budgets are server-wide settings: the channel does not matter.
  const at = (guildId: string | null) => settings.resolve({ guildId, channelId: null });
  return {
    userDailyUsd: (guildId) => at(guildId).user_daily_budget_usd.value,
    serverDailyUsd: (guildId) => (guildId === null ? null : at(guildId).server_daily_budget_usd.value),
  };
}
