/**
 * Durable runs: a run started here is recorded with what was asked and where it is shown, and
 * journals every step (src/agent/journal.ts) as it goes. A shutdown suspends it; a crash leaves
 * it running. At the next start each is resumed from its journal by the surface that showed it,
 * unless the process died twice in a row while running it: then it ends, with the reason.
 */
import os from 'node:os';
import type { Agent, RunRequest } from '../agent/agent.js';
import type { RunResult } from '../agent/events.js';
import { RunSuspendedError, RunSuspension, type JournalEntry } from '../agent/journal.js';
import type { ModelCatalog } from '../llm/models.js';
import type { Logger } from '../log.js';
import { requestFrom, storedRequest } from './request.js';
import { MAX_UNFINISHED, UnreadableJournal, type DurableRun, type DurableRunStore } from './store.js';

/** Process deaths in a row (with no progress between) after which a run is not resumed again. */
export const MAX_CRASHES = 2;

export const CRASHED_TWICE =
  "Cairn's process stopped twice in a row while running this run (a crash, or the machine running out of memory), so it was not resumed again. Start it again if you still need it.";

/** A run a restart left unfinished (or a queued one, not started), ready to go on: its record and its journal so far. */
export interface Resumable {
  run: DurableRun;
  entries: JournalEntry[];
}

/** A run a restart left unfinished that cannot go on, and why (in words for its starter). */
export interface Abandoned {
  run: DurableRun;
  reason: string;
}

/**
 * What only the surface resuming a run has: where its events go, who approves, what cancels it,
 * and limits of its own (the budget left today), applied over the stored ones.
 */
export type LiveParts = Pick<RunRequest, 'sinks' | 'approver' | 'signal' | 'limits' | 'files'>;

/**
 * Shows a finished run's result (posts the answer). The run's record is kept until it resolves:
 * a process that dies before then replays the finished run at the next start and delivers again.
 */
export type Deliver = (result: RunResult) => Promise<void>;

/** The run was stopped because another process has it now. */
function takenElsewhere(signal: AbortSignal | undefined): boolean {
  const reason: unknown = signal?.reason;
  return reason instanceof RunSuspension && reason.elsewhere;
}

export class DurableRuns {
  /** Where this process is, in each record it writes (for the logs). */
  readonly owner = `${os.hostname()}:${process.pid}`;

  constructor(
    private readonly agent: Agent,
    private readonly store: DurableRunStore,
    private readonly models: ModelCatalog,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Runs `request` durably. `surface` is what its surface needs to show it again after a
   * restart (ids, not objects). Rejects with RunSuspendedError when a RunSuspension stopped it.
   * If the record cannot be written the run goes on, without surviving a restart.
   */
  async run(request: RunRequest & { runId: string }, surface: unknown, deliver: Deliver): Promise<RunResult> {
    const modelId = request.model === undefined ? null : request.model.chat.model;
    const startedAt = this.now();
    try {
      await this.store.create({ runId: request.runId, status: 'running', owner: this.owner, resumes: 0, crashes: 0, request: storedRequest(request, modelId), surface, startedAt, updatedAt: startedAt });
    } catch (error) {
      this.log.error({ err: error, runId: request.runId }, 'could not record the run as durable; it will not survive a restart');
      const result = await this.agent.run(request);
      await deliver(result);
      return result;
    }
    return this.execute({ ...request, journal: this.store.journal(request.runId, []) }, deliver);
  }

  /**
   * Records `request` as queued for a worker (src/queue), which claims it by id. Throws when the
   * record cannot be written: a queued run lives nowhere else.
   */
  async enqueue(request: RunRequest & { runId: string }, surface: unknown): Promise<void> {
    const modelId = request.model === undefined ? null : request.model.chat.model;
    const at = this.now();
    await this.store.create({ runId: request.runId, status: 'queued', owner: this.owner, resumes: 0, crashes: 0, request: storedRequest(request, modelId), surface, startedAt: at, updatedAt: at });
  }

  /** The ids of every run not ended (queued, running somewhere, suspended). */
  async ids(): Promise<string[]> {
    const ids = (await this.store.unfinished()).map((run) => run.runId);
    await this.sweep(ids);
    return ids;
  }

  /** The ids of the unfinished runs acting as `userId` (a schedule's runs act as `schedule-<id>`). */
  unfinishedOf(userId: string): Promise<string[]> {
    return this.store.idsOf(userId);
  }

  /** A run's record as it is now (another process's writes seen); undefined once it has ended. */
  find(runId: string): Promise<DurableRun | undefined> {
    return this.store.get(runId);
  }

  /**
   * A queued run taken by this process: to start (queued), resume (suspended, or left running by
   * a process that died: one crash more), or end (crashed twice). Undefined when it has ended
   * already (a job delivered again after its run finished).
   */
  async claim(runId: string): Promise<{ resumable: Resumable } | { abandoned: Abandoned } | undefined> {
    const run = await this.store.get(runId);
    if (run === undefined) return undefined;
    const { resumable, abandoned } = await this.split([run]);
    if (resumable[0] !== undefined) return { resumable: resumable[0] };
    if (abandoned[0] !== undefined) return { abandoned: abandoned[0] };
    return undefined;
  }

  /**
   * The runs a shutdown or crash left, split into those to resume and those that cannot go on
   * (ended here, with the reason). A run left `running` died with its process: one crash more.
   */
  async unfinished(): Promise<{ resumable: Resumable[]; abandoned: Abandoned[] }> {
    const runs = await this.store.unfinished();
    await this.sweep(runs.map((run) => run.runId));
    return this.split(runs);
  }

  /** At a start: journals left by ends a crash cut short go, when `ids` are all the unfinished runs. */
  private async sweep(ids: readonly string[]): Promise<void> {
    if (ids.length >= MAX_UNFINISHED) return;
    await this.store.sweepOrphans(ids).catch((error: unknown) => {
      this.log.warn({ err: error }, 'could not sweep the journals of ended runs');
    });
  }

  private async split(runs: readonly DurableRun[]): Promise<{ resumable: Resumable[]; abandoned: Abandoned[] }> {
    const resumable: Resumable[] = [];
    const abandoned: Abandoned[] = [];
    for (const run of runs) {
      const crashes = run.crashes + (run.status === 'running' ? 1 : 0);
      const counted = { ...run, crashes };
      if (crashes >= MAX_CRASHES) {
        abandoned.push({ run: counted, reason: CRASHED_TWICE });
        await this.end(run.runId);
        continue;
      }
      try {
        // A queued run has journaled nothing (it is 'running' from its first step on): no read.
        resumable.push({ run: counted, entries: run.status === 'queued' ? [] : await this.store.entries(run.runId) });
      } catch (error) {
        if (!(error instanceof UnreadableJournal)) throw error;
        this.log.error({ err: error, runId: run.runId }, 'a durable run cannot be resumed');
        abandoned.push({ run: counted, reason: 'Its record could not be read back after the restart, so it could not be resumed. Start it again if you still need it.' });
        await this.end(run.runId);
      }
    }
    return { resumable, abandoned };
  }

  /**
   * Resumes a run from its journal with a surface's live parts (a queued run starts: nothing to
   * resume); resolves or rejects as `run` does.
   */
  async resume({ run, entries }: Resumable, live: LiveParts, deliver: Deliver): Promise<RunResult> {
    const starting = run.status === 'queued' && entries.length === 0;
    const resumes = starting ? 0 : run.resumes + 1;
    await this.store.save({ ...run, status: 'running', owner: this.owner, resumes });
    const request = requestFrom(run.request);
    const model = run.request.modelId === null ? undefined : this.models.getOrDefault(run.request.modelId);
    // Progress since the restart: the crashes before it were not this run's doing, or not in a row.
    let cleared = run.crashes === 0;
    const journal = this.store.journal(run.runId, entries, () => {
      if (cleared) return;
      cleared = true;
      this.store.clearCrashes(run.runId).catch((error: unknown) => {
        this.log.warn({ err: error, runId: run.runId }, 'could not clear a resumed run\'s crash count');
      });
    });
    if (!starting) this.log.info({ runId: run.runId, resumes, crashes: run.crashes, entries: entries.length }, 'resuming a run');
    const limits = { ...request.limits, ...live.limits };
    const resumed = starting ? {} : { resumed: { startedAt: new Date(run.startedAt), resumes } };
    return this.execute({ ...request, ...live, limits, ...(model === undefined ? {} : { model }), journal, ...resumed }, deliver);
  }

  private async execute(request: RunRequest & { runId: string }, deliver: Deliver): Promise<RunResult> {
    let result: RunResult;
    try {
      result = await this.agent.run(request);
    } catch (error) {
      if (!(error instanceof RunSuspendedError)) await this.end(request.runId);
      // Another worker runs it now (this one lost its lock): its status is that worker's to write.
      else if (!takenElsewhere(request.signal)) {
        await this.store.suspend(request.runId).catch((failure: unknown) => {
          // Left "running": the next start counts it as a crash, and still resumes it.
          this.log.warn({ err: failure, runId: request.runId }, 'could not mark a run suspended');
        });
      }
      throw error;
    }
    try {
      await deliver(result);
    } finally {
      await this.end(request.runId);
    }
    return result;
  }

  /** A run no surface here can show again: ended unresumed (its surface tells its starter). */
  async abandon(runId: string): Promise<void> {
    await this.end(runId);
  }

  /** Forgets a run's record and journal; a failure is logged (the next start would resume it). */
  private async end(runId: string): Promise<void> {
    await this.store.end(runId).catch((error: unknown) => {
      this.log.error({ err: error, runId }, 'could not remove an ended run\'s journal');
    });
  }
}
