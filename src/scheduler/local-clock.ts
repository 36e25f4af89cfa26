/**
 * The embedded clock: node-cron fires each active schedule in this process, in its time zone.
 * One process only: a second one on the same data would fire every schedule again (use the
 * shared clock, src/queue/schedule-clock.ts, with CAIRN_REDIS_URL).
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../log.js';
import { errorMessage } from '../text.js';
import type { FireHandler, ScheduleClock } from './clock.js';
import { checkStoredSchedule } from './cron.js';
import type { Schedule } from './store.js';

interface Armed {
  task: ScheduledTask;
  cron: string;
  timeZone: string;
}

export class LocalScheduleClock implements ScheduleClock {
  readonly shared = false;
  private readonly armed = new Map<string, Armed>();
  private fire: FireHandler | undefined;

  constructor(private readonly log: Logger) {}

  start(active: readonly Schedule[], fire: FireHandler): Promise<Map<string, string>> {
    this.fire = fire;
    const refused = new Map<string, string>();
    for (const schedule of active) {
      const armed = this.arm(schedule);
      if (armed !== true) refused.set(schedule.id, armed);
    }
    return Promise.resolve(refused);
  }

  /** Only while started: a stopped scheduler (the terminal) leaves firing to the bot, which reloads. */
  set(schedule: Schedule): Promise<true | string> {
    return Promise.resolve(this.fire === undefined ? true : this.arm(schedule));
  }

  unset(id: string): Promise<void> {
    const armed = this.armed.get(id);
    if (armed !== undefined) {
      this.armed.delete(id);
      void armed.task.destroy();
    }
    return Promise.resolve();
  }

  async reconcile(active: readonly Schedule[]): Promise<void> {
    const byId = new Map(active.map((s) => [s.id, s]));
    for (const [id, armed] of this.armed) {
      const schedule = byId.get(id);
      if (schedule === undefined || schedule.cron !== armed.cron || schedule.timeZone !== armed.timeZone) await this.unset(id);
    }
    for (const schedule of active) if (!this.armed.has(schedule.id)) await this.set(schedule);
  }

  async stop(): Promise<void> {
    this.fire = undefined;
    for (const id of [...this.armed.keys()]) await this.unset(id);
  }

  close(): Promise<void> {
    return this.stop();
  }

  /** node-cron's own messages (e.g. a firing missed while the event loop was blocked) go to our log. */
  private readonly cronLogger = {
    info: (message: string) => { this.log.debug({ source: 'node-cron' }, message); },
    warn: (message: string) => { this.log.warn({ source: 'node-cron' }, message); },
    error: (message: string | Error) => { this.log.error({ source: 'node-cron', err: message }, 'node-cron error'); },
    debug: (message: string | Error) => { this.log.debug({ source: 'node-cron', err: message }, 'node-cron'); },
  };

  private arm(schedule: Schedule): true | string {
    const fire = this.fire;
    if (fire === undefined) return true;
    const existing = this.armed.get(schedule.id);
    if (existing !== undefined) {
      this.armed.delete(schedule.id);
      void existing.task.destroy();
    }
    let task: ScheduledTask;
    try {
      // The bounded check first: node-cron expands a range before checking it, and searches a
      // century for the next run of an expression that never fires.
      const expression = checkStoredSchedule(schedule.cron, schedule.timeZone);
      task = cron.createTask(
        expression,
        async (context) => {
          await fire(schedule.id, { scheduledAt: context.date.getTime() });
        },
        // A firing delayed by a busy event loop still runs (node-cron drops those over 1 s late by default).
        { timezone: schedule.timeZone, name: `cairn-${schedule.id}`, logger: this.cronLogger, missedExecutionTolerance: 60_000, unref: true },
      );
    } catch (error) {
      this.log.error({ err: error, scheduleId: schedule.id }, 'a schedule cannot be armed');
      return `its cron expression cannot be scheduled: ${errorMessage(error)}`;
    }
    void task.start();
    this.armed.set(schedule.id, { task, cron: schedule.cron, timeZone: schedule.timeZone });
    return true;
  }
}
