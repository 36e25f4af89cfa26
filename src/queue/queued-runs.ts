/**
 * What a gateway does with a run when a queue is configured: records it as queued (its durable
 * record carries what it was asked and where it is shown), adds its job, and passes on what
 * concerns it later (a Cancel, an approval decided) to whichever worker runs it.
 */
import type { RunRequest } from '../agent/agent.js';
import type { DurableRuns } from '../durable/runs.js';
import type { ControlChannel } from './control.js';
import type { QueueDepth, RunQueue } from './run-queue.js';

export class QueuedRuns {
  constructor(
    private readonly durable: DurableRuns,
    private readonly queue: RunQueue,
    private readonly control: ControlChannel,
  ) {}

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
   * one a worker has is told to stop ('signalled'), which it does if it is running it.
   */
  async cancel(runId: string, reason: string): Promise<'removed' | 'signalled'> {
    if (await this.queue.removeWaiting(runId)) {
      await this.durable.abandon(runId);
      return 'removed';
    }
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
