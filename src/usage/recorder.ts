import type { RunResult } from '../agent/events.js';
import type { AgentMemory, RunInfo } from '../agent/memory-port.js';
import { scheduleIdOf } from '../scheduler/execute.js';
import type { UsageEntry, UsageLog } from './store.js';

/** Where a run (or its reflection) spent: its server, channel and, for a scheduled run, schedule. */
export function usagePlace(scope: RunInfo['scope'], trigger: RunInfo['trigger']): Pick<UsageEntry, 'guildId' | 'channelId' | 'scheduleId'> {
  return {
    guildId: scope.guildId ?? null,
    channelId: scope.channelId ?? null,
    scheduleId: trigger === 'schedule' ? scheduleIdOf(scope) : null,
  };
}

/** The usage row of a finished run: billed to whoever pays for it, in its server and channel. */
export function runUsage(run: RunInfo, result: RunResult): UsageEntry {
  return {
    id: run.runId,
    kind: 'run',
    userId: run.billedTo,
    ...usagePlace(run.scope, run.trigger),
    trigger: run.trigger,
    visibility: run.visibility,
    goal: run.goal,
    promptTokens: result.usage.promptTokens,
    completionTokens: result.usage.completionTokens,
    usd: result.costUsd,
    at: Date.parse(result.endedAt),
  };
}

/**
 * The agent's memory port, also recording each finished run's usage. Every run — `/agent`,
 * mentions, schedules, the terminal, whatever starts one later — ends through `afterRun` with its
 * goal, place, payer, tokens and cost, which the budget settlements (a cost and an id) do not
 * all carry. The write runs in the background (`track`), like the episode's.
 */
export function recordingUsage(inner: AgentMemory, usage: UsageLog, track: (write: Promise<unknown>, what: string) => void): AgentMemory {
  return {
    beforeRun: (run, signal) => inner.beforeRun(run, signal),
    afterRun: (run, result, steps) => {
      track(usage.record(runUsage(run, result)), 'recording a run’s usage');
      return inner.afterRun(run, result, steps);
    },
  };
}
