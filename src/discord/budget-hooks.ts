import type { Client } from 'discord.js';
import type { App } from '../app.js';
import { isBudgetRefusal } from '../budget/budgets.js';
import { refusalForSchedule, serverWarningText } from '../budget/refusal-text.js';
import type { Logger } from '../log.js';
import type { ExecuteDeps } from '../scheduler/execute.js';
import type { Schedule } from '../scheduler/store.js';
import { explainDiscordError } from './errors.js';
import { sendToChannel } from './send.js';

/** Who pays for a schedule's runs (its creator) and where they happen (its server and channel). */
const placeOf = (schedule: Schedule) => ({ userId: schedule.creatorId, guildId: schedule.guildId, channelId: schedule.channelId });

/**
 * Scheduled runs are held to their creator's daily budget and their server's, like any run: they
 * do not start once either is spent, and say which.
 */
export function scheduleBudgetHooks(app: App): Required<Pick<ExecuteDeps, 'refusal' | 'hold'>> {
  return {
    refusal: (schedule) => {
      const refused = app.budgets.refusal(placeOf(schedule));
      return refused === null ? null : refusalForSchedule(refused);
    },
    hold: (schedule) => {
      const hold = app.budgets.reserve(placeOf(schedule), app.agent.defaultLimits.maxCostUsd);
      if (isBudgetRefusal(hold)) return refusalForSchedule(hold);
      return {
        capUsd: hold.capUsd,
        finish: (costUsd, runId) => {
          hold.settle(costUsd, { kind: 'run', id: runId });
        },
      };
    },
  };
}

/**
 * Posts the once-a-day notice that a server has spent 80% of its budget, in the channel of the run
 * that crossed the mark, addressed to the server's admins in words (no one is pinged).
 */
export function postServerWarnings(app: App, client: Client, log: Logger): void {
  app.budgets.onServerWarning = async (warning) => {
    try {
      await sendToChannel(client, warning.channelId, { content: serverWarningText(warning), allowedMentions: { parse: [] } });
    } catch (error) {
      log.warn({ err: error, guildId: warning.guildId, reason: explainDiscordError(error) }, 'could not post the server budget notice');
    }
  };
}
