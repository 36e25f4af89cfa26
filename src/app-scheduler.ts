/**
 * The scheduler over an app's agent and memory (the composition of src/scheduler with the rest):
 * its clock (node-cron, or BullMQ's shared one with a queue), store, settings and reports.
 */
import path from 'node:path';
import { StoredScheduleReports } from './conversations/schedule-reports.js';
import { QueueScheduleClock } from './queue/schedule-clock.js';
import { modelChangeJudge } from './scheduler/change.js';
import type { ReportDelivery } from './scheduler/delivery.js';
import type { ExecuteDeps } from './scheduler/execute.js';
import { LocalScheduleClock } from './scheduler/local-clock.js';
import { Scheduler } from './scheduler/scheduler.js';
import { ScheduleStore } from './scheduler/store.js';
import type { App } from './app.js';
import { runOptionsFor } from './settings/run-options.js';
import { workspaceRootFor } from './tools/workspace-root.js';

/** Backoff never grows past this, however many failures. */
const MAX_SCHEDULE_BACKOFF_MS = 6 * 3_600_000;
/**
 * The scheduler over the app's agent and memory. `delivery` is where reports go (null from the
 * terminal, which prints them); `hooks` lets a surface track scheduled runs.
 */
export function createScheduler(
  app: App,
  delivery: ReportDelivery | null,
  hooks: Pick<ExecuteDeps, 'onRunStarted' | 'sinks' | 'refusal' | 'hold' | 'enqueue' | 'standing'> = {},
  /** With a queue: whether this process runs firings (a worker) or only writes schedules. */
  fires = true,
): Scheduler {
  const { config, log } = app;
  const workspaceRoot = workspaceRootFor(config.dataDir);
  const url = config.queue.redisUrl;
  // With a queue, every process shares one clock in Redis: a schedule fires once, wherever.
  const clock = url === null ? new LocalScheduleClock(log) : new QueueScheduleClock(url, { fires, concurrency: config.schedules.maxConcurrentRuns, lockMs: config.queue.lockMs }, log);
  return new Scheduler(
    new ScheduleStore(app.memory.db.schedules, log),
    { ...config.schedules, minIntervalS: config.minScheduleIntervalS, backoffMaxMs: MAX_SCHEDULE_BACKOFF_MS, reloadIntervalMs: 30_000 },
    {
      agent: app.agent,
      judgeChange: modelChangeJudge(app.model, log),
      delivery,
      // The bot's runs are journaled (a restart resumes them); the terminal's are not: it posts nothing to resume.
      ...(delivery === null
        ? {}
        : {
            durable: app.durable,
            markInterrupted: (runId: string, reason: string) => app.memory.episodes.interrupt(runId, reason, Date.now()),
            ranBefore: async (runId: string) => (await app.memory.episodes.get(runId, { fresh: true })) !== undefined || (await app.durable.find(runId)) !== undefined,
          }),
      log,
      now: () => Date.now(),
      workspaceFor: (schedule) => path.join(workspaceRoot, `schedule-${schedule.id}`),
      reports: new StoredScheduleReports(app.conversations.store),
      // The settings of the server and channel the reports go to; the schedule keeps its own mode.
      runOptions: (schedule) => {
        const { mode: _own, ...options } = runOptionsFor(app.settings, app.models, { guildId: schedule.guildId, channelId: schedule.channelId });
        return options;
      },
      ...hooks,
    },
    log,
    clock,
  );
}
