/**
 * What a gateway does with a run when a queue is configured: records it as queued (its durable
 * record carries what it was asked and where it is shown), adds its job, and passes on what
 * concerns it later (a Cancel, an approval decided) to whichever worker runs it.
 */
import type { RunRequest } from '../agent/agent.js';
import type { DurableRuns } from '../durable/runs.js';
import type { ControlChannel } from './control.js';
import type { QueueDepth, RunQueue } from './run-queue.js';

/** How often waiting runs are told their place (one read of the line for all of them). */
const PLACE_EVERY_MS = 3_000;

interface Watcher {
  shown: number | null;
  until: number;
  onPlace: (place: number) => Promise<void>;
}

export class QueuedRuns {
  private readonly watchers = new Map<string, Watcher>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly durable: DurableRuns,
    private readonly queue: RunQueue,
    private readonly control: ControlChannel,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Calls `onPlace` with the run's place in line whenever it changes, until a worker takes it or
   * `until` (ms since the epoch) passes. One read of the line serves every watched run.
   */
  watchPlace(runId: string, until: number, onPlace: (place: number) => Promise<void>): void {
    this.watchers.set(runId, { shown: null, until, onPlace });
    this.timer ??= setInterval(() => {
      void this.tellPlaces();
    }, PLACE_EVERY_MS);
    this.timer.unref();
  }

  /** Stops telling places (shutdown). */
  stopWatching(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.watchers.clear();
  }

  private async tellPlaces(): Promise<void> {
    const places = await this.queue.places().catch(() => null);
    if (places === null) return;
    for (const [runId, watcher] of this.watchers) {
      const place = places.get(runId);
      if (place === undefined || this.now() > watcher.until) {
        this.watchers.delete(runId);
        continue;
      }
      if (place === watcher.shown) continue;
      watcher.shown = place;
      await watcher.onPlace(place).catch(() => undefined);
    }
    if (this.watchers.size === 0) this.stopWatching();
  }

  /**
   * Queues `request`, shown on `surface`; resolves with its place in line (null: a worker has
   * taken it already). The record is written before the job exists: a worker never finds a job
   * without its run.
   */
  async enqueue(request: RunRequest & { runId: string }, surface: unknown): Promise<number | null> {
    await this.durable.enqueue(request, surface);
    try {
      await this.queue.add(request.runId);
    } catch (error) {
      await this.durable.abandon(request.runId);
      throw error;
    }
    return this.queue.place(request.runId);
  }

  /** A waiting run's place in line (1: next); null once a worker has it, or it has ended. */
  place(runId: string): Promise<number | null> {
    return this.queue.place(runId);
  }

  /**
   * Cancels a run wherever it is: one still waiting leaves the line and ends here ('removed');
   * one a worker has is told to stop ('signalled'); one that has ended is left alone ('gone').
   */
  async cancel(runId: string, reason: string): Promise<'removed' | 'signalled' | 'gone'> {
    if (await this.queue.removeWaiting(runId)) {
      await this.durable.abandon(runId);
      return 'removed';
    }
    if ((await this.durable.find(runId)) === undefined) return 'gone';
    await this.control.publish({ kind: 'cancel', runId, reason });
    return 'signalled';
  }

  /** An approval was decided here (and stored): the worker waiting on it looks it up. */
  async approvalDecided(token: string): Promise<void> {
    await this.control.publish({ kind: 'approval', token });
  }

  depth(): Promise<QueueDepth> {
    return this.queue.depth();
  }
}
