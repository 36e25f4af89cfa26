/**
 * What fires schedules: node-cron in this process (src/scheduler/local-clock.ts, the embedded
 * default), or BullMQ job schedulers that every process shares (src/queue/schedule-clock.ts), so
 * a schedule fires once however many processes run.
 */
import type { Schedule } from './store.js';

/** One firing: when it was due, and (shared clock) a key no other delivery of it shares. */
export interface Firing {
  scheduledAt: number;
  /**
   * The shared clock's id of the firing, the same on every delivery of it: a firing taken again
   * after its worker died starts the run with the same id, so it is never queued twice.
   */
  key?: string;
}

/** Runs a firing; resolves once its run has ended (a shared clock keeps the firing claimed that long). */
export type FireHandler = (scheduleId: string, firing: Firing) => Promise<void>;

export interface ScheduleClock {
  /**
   * True when the clock is shared by every process: changes are written to it at once (also
   * from the terminal), and it keeps a firing missed while no process ran (no catch-up pass).
   */
  readonly shared: boolean;
  /** Starts firing the active schedules; returns those whose expression it cannot take, with why. */
  start(active: readonly Schedule[], fire: FireHandler): Promise<Map<string, string>>;
  /** Fires `schedule` from now on (created, resumed or changed); a string says why it cannot. */
  set(schedule: Schedule): Promise<true | string>;
  /** Stops firing a schedule (paused or removed). */
  unset(id: string): Promise<void>;
  /** Takes up changes made elsewhere (the terminal): `active` as stored now. */
  reconcile(active: readonly Schedule[]): Promise<void>;
  /** Stops firing here (a shared clock goes on in the other processes). */
  stop(): Promise<void>;
  /** Stops, and lets go of what the clock holds (connections). */
  close(): Promise<void>;
}
