import { RunSuspension } from '../agent/journal.js';

/** The runs this process is executing right now, so they can be cancelled and drained on shutdown. */
export interface ActiveRun {
  runId: string;
  userId: string;
  channelId: string | null;
  /** The server it runs in (null in DMs): only that server's admins may cancel it. */
  guildId: string | null;
  /** A private run (private:true, a DM): restart notices go to its starter alone, never the channel. */
  private: boolean;
  /** A schedule's run: its `userId` is the schedule's creator, and its report is the channel's. */
  scheduled: boolean;
  controller: AbortController;
  /** Settles when the run has finished and its answer was posted. */
  done: Promise<unknown>;
  /** Recorded with src/durable: a shutdown suspends it, and the next start resumes it. */
  durable?: boolean;
}

export class RunRegistry {
  private readonly runs = new Map<string, ActiveRun>();
  private readonly startedAt = new Map<string, number>();

  add(run: ActiveRun): void {
    this.runs.set(run.runId, run);
    this.startedAt.set(run.runId, Date.now());
    void run.done
      .finally(() => {
        this.runs.delete(run.runId);
        this.startedAt.delete(run.runId);
      })
      .catch(() => undefined);
  }

  /** How many runs are going here, and since when the oldest (for /metrics). */
  inFlight(): { count: number; oldestStartedAt: number | null } {
    const starts = [...this.startedAt.values()];
    return { count: starts.length, oldestStartedAt: starts.length === 0 ? null : Math.min(...starts) };
  }

  /**
   * From here on the run is recorded (src/durable): a shutdown pauses it rather than stopping it.
   * Until then (its files downloading, say) there is nothing to resume, so a shutdown stops it.
   */
  markDurable(runId: string): void {
    const run = this.runs.get(runId);
    if (run !== undefined) run.durable = true;
  }

  /** The run, while it is running in this process. */
  get(runId: string): ActiveRun | undefined {
    return this.runs.get(runId);
  }

  get size(): number {
    return this.runs.size;
  }

  /** Cancels a run; `reason` is shown as why it stopped. False when it is not running here. */
  cancel(runId: string, reason: string): boolean {
    const run = this.runs.get(runId);
    if (run === undefined || run.controller.signal.aborted) return false;
    run.controller.abort(reason);
    return true;
  }

  /**
   * Waits up to `graceMs` for running runs to finish; interrupts the rest and waits briefly for
   * them to wind down. Returns the runs that had to be interrupted.
   */
  async drain(graceMs: number, windDownMs = 1_500): Promise<ActiveRun[]> {
    const all = [...this.runs.values()];
    const settled = (ms: number, runs: ActiveRun[]) =>
      Promise.race([Promise.allSettled(runs.map((r) => r.done)), new Promise((resolve) => setTimeout(resolve, ms).unref())]);
    await settled(graceMs, all);
    const left = [...this.runs.values()];
    // A durable run is suspended (it resumes at the next start); the others are cancelled.
    for (const run of left) run.controller.abort(run.durable === true ? new RunSuspension('Cairn is restarting') : 'the bot is restarting');
    await settled(windDownMs, left);
    return left;
  }
}
