import { z } from 'zod';
import type { ChatModel } from '../llm/types.js';
import type { Logger } from '../log.js';
import { pendingWrites, withCommitRetry } from '../memory/db.js';
import { tableUpkeep } from '../memory/table-upkeep.js';
import type { Memory } from '../memory/memory.js';
import { ReflectionRow, sqlString } from '../memory/schema.js';
import { LessonMaker, type LearnedLesson, type ReflectionBudget } from './lesson-maker.js';
import { ReflectionClaims } from './reflection-claims.js';

export { REFLECTION_HOLD_USD, type LearnedLesson } from './lesson-maker.js';

export type ReflectionCause = ReflectionRow['cause'];

export interface ReflectionRequest {
  runId: string;
  cause: ReflectionCause;
  /** Who pays for the reflection: the voter behind a 👎, the person billed for a failed run. */
  userId: string;
  comment: string | null;
  /** Wait this long first (e.g. so a 👎 comment typed just after the vote is included). */
  delayMs?: number;
}

/** Hands a reflection owed to the queue, due at `dueAt` (src/queue/reflection-jobs.ts). */
export type Dispatch = (reflectionId: string, dueAt: number) => Promise<void>;

/** How often a wait for a reflection made elsewhere reads its row. */
const DONE_POLL_MS = 200;
/** A 👎 this recent whose reflection is not recorded yet is still being recorded (see beingRecorded). */
const RECENT_VOTE_MS = 60_000;
/** How long a retry waits for such a 👎's reflection to be recorded. */
const RECORDING_WAIT_MS = 5_000;

const ReflectionRows = z.array(ReflectionRow);

/**
 * Turns 👎 votes and failed runs into lessons. Every reflection owed is written to the
 * `reflections` table first (one row per cause, so none is done twice), then processed in the
 * background; if the model is unreachable it is retried later, also after a restart.
 */
export class Reflector {
  /** Told about each lesson learned (the Discord bot posts a note in the run's channel). */
  onLesson: ((learned: LearnedLesson) => Promise<void> | void) | undefined;
  private working: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** Aborts an in-flight reflection on close; it stays pending and is retried next time. */
  private readonly stopping = new AbortController();
  /** With a queue: where reflections owed go (a job), and whether this process makes them. */
  private dispatch: Dispatch | undefined;
  private makesHere = true;
  /** Reflections made here for jobs, awaited on close. */
  private readonly queued = new Set<Promise<void>>();
  private lessons: LessonMaker | undefined;

  constructor(
    private readonly memory: Memory,
    private readonly model: ChatModel,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    /**
     * Pays for reflections from the payer's daily budget and the run's server's, and records what
     * each cost in `usage`; without it (the terminal) they are free.
     */
    private readonly budget: ReflectionBudget = null,
  ) {}

  /** Processes what earlier sessions left pending, then looks again every 30 s. */
  start(): void {
    this.kick();
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.kick();
    }, 30_000);
    this.timer.unref();
  }

  /**
   * Records that a reflection is owed; a second request for the same cause is ignored (a new
   * comment is kept). True when this request was the first for its cause (a 👎 counts once per
   * person per run, however often it is toggled).
   */
  async request(request: ReflectionRequest): Promise<boolean> {
    const id = request.cause === 'down_vote' ? downVoteId(request.runId, request.userId) : `${request.runId}:${request.cause}`;
    const table = this.memory.db.reflections;
    const row = {
      id,
      run_id: request.runId,
      cause: request.cause,
      user_id: request.userId,
      comment: request.comment,
      status: 'pending',
      attempts: 0,
      next_attempt_at: this.now() + (request.delayMs ?? 0),
      lesson_id: null,
      error: null,
      created_at: this.now(),
    };
    let created = false;
    // Set inside the commit; an object so the check after it sees the change.
    const due: { at: number | null } = { at: null };
    await withCommitRetry(table, async () => {
      const existing = await this.row(id);
      created = existing === undefined;
      due.at = null;
      if (existing === undefined) {
        await table.add([row]);
        due.at = row.next_attempt_at;
      } else if (existing.status === 'pending' && request.comment !== null && request.comment !== existing.comment) {
        // A comment arriving after the bare vote joins the reflection waiting for it (and ends the
        // wait); a reflection backing off after a failure keeps its schedule.
        const values: Record<string, string> = { comment: sqlString(request.comment) };
        if (existing.attempts === 0) {
          due.at = this.now();
          values.next_attempt_at = String(due.at);
        }
        await table.update({ where: `id = ${sqlString(id)}`, valuesSql: values });
      }
    });
    tableUpkeep.noteCommit(table);
    if (due.at !== null) this.due(id, due.at);
    return created;
  }

  /**
   * The lesson `userId`'s 👎 on `runId` taught, for a retry about to start: a reflection still
   * waiting (for the comment of a bare 👎, or queued) is made due now and awaited, up to
   * `timeoutMs`. `none`: no 👎 from them, or it taught nothing (no budget, no lesson); `pending`:
   * not ready in time (it carries on in the background, as usual).
   */
  async lessonFromDownVote(runId: string, userId: string, timeoutMs: number): Promise<{ state: 'none' | 'pending' } | { state: 'learned'; lessonId: string }> {
    const id = downVoteId(runId, userId);
    const table = this.memory.db.reflections;
    const before = (await this.row(id)) ?? (await this.beingRecorded(runId, userId, id, timeoutMs));
    if (before === undefined) return { state: 'none' };
    // One that failed and is backing off keeps its schedule: the model was unreachable a moment ago.
    if (before.status === 'pending' && before.attempts === 0) {
      const now = this.now();
      await withCommitRetry(table, () => table.update({ where: `id = ${sqlString(id)} AND status = 'pending'`, valuesSql: { next_attempt_at: String(now) } }));
      this.due(id, now);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      // Made here, or (with a queue) by a worker: then its row says when it is done.
      const made = this.dispatch === undefined ? this.idle() : this.pollRow(id, timeoutMs, { latest: true }, (row) => row === undefined || row.status === 'done');
      await Promise.race([made, timeout]);
      clearTimeout(timer);
    }
    const after = await this.row(id, { latest: this.dispatch !== undefined });
    if (after?.status !== 'done') return { state: after === undefined ? 'none' : 'pending' };
    return after.lesson_id === null ? { state: 'none' } : { state: 'learned', lessonId: after.lesson_id };
  }

  /** Runs the due reflections, one pass at a time (not on a gateway: workers make them). */
  kick(): void {
    if (this.stopping.signal.aborted || !this.makesHere) return;
    this.working = this.working.then(() => this.processDue()).catch((error: unknown) => {
      this.log.error({ err: error }, 'reflection pass failed');
    });
  }

  async idle(): Promise<void> {
    await this.working;
    await Promise.allSettled([...this.queued]);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    await this.idle();
  }

  private async processDue(): Promise<void> {
    const claimed = await this.claims().due(this.now());
    for (const [index, row] of claimed.entries()) {
      if (this.stopping.signal.aborted) {
        // Given back at once, not after the lease: another process (or the next start) takes them.
        await this.claims().giveBack(claimed.slice(index).map((r) => r.id), this.now());
        return;
      }
      await this.maker().make(row);
    }
  }

  /**
   * A reflection job (src/queue/reflection-jobs.ts): makes the reflection here if it is due and
   * nobody holds it; a job for one done, leased or moved later does nothing.
   */
  async reflectQueued(id: string): Promise<void> {
    if (this.stopping.signal.aborted) return;
    const row = await this.claims().one(id, this.now());
    if (row === undefined) return;
    const made = this.maker().make(row);
    this.queued.add(made);
    try {
      await made;
    } finally {
      this.queued.delete(made);
    }
  }

  /**
   * With a queue (src/queue): reflections owed are handed to `dispatch` (a job due when the
   * reflection is) instead of made here; `makesHere`: this process is a worker, which makes them
   * (the jobs, and a sweep every 30 s for any whose job went missing). A gateway only dispatches.
   */
  useQueue(dispatch: Dispatch, makesHere: boolean): void {
    this.dispatch = dispatch;
    this.makesHere = makesHere;
    if (!makesHere) clearInterval(this.timer);
  }

  private maker(): LessonMaker {
    this.lessons ??= new LessonMaker(this.memory, this.model, this.log, this.now, this.budget, this.stopping.signal, {
      onLesson: () => this.onLesson,
      // Locally the 30 s sweep takes it up when due; with a queue, a job due then.
      retryAt: (id, at) => {
        if (this.dispatch !== undefined) this.due(id, at);
      },
    });
    return this.lessons;
  }

  private claims(): ReflectionClaims {
    return new ReflectionClaims(this.memory.db.reflections, this.memory.db.uri);
  }

  /** Makes the reflection due at `dueAt`: a job for it with a queue, else a pass here at that time. */
  private due(id: string, dueAt: number): void {
    const dispatch = this.dispatch;
    if (dispatch !== undefined) {
      // Not fatal: a worker's sweep takes up a reflection whose job is missing.
      dispatch(id, dueAt).catch((error: unknown) => {
        this.log.warn({ err: error, reflectionId: id }, 'could not queue a reflection; a worker will take it up within 30 s');
      });
      return;
    }
    const delay = dueAt - this.now();
    if (delay <= 0) this.kick();
    else {
      setTimeout(() => {
        this.kick();
      }, delay).unref();
    }
  }

  /**
   * The row of a 👎 given a moment ago: its vote is stored, its reflection still being recorded
   * (a retry pressed right after, or on a busy server). Waits a few seconds at most for it; none
   * for a person whose last vote on the run is not a recent 👎.
   */
  private async beingRecorded(runId: string, userId: string, id: string, timeoutMs: number): Promise<ReflectionRow | undefined> {
    const latest = this.dispatch !== undefined;
    const vote = (await this.memory.episodes.get(runId, { fresh: latest }))?.feedback.filter((v) => v.userId === userId).at(-1);
    if (vote?.vote !== 'down' || vote.at < this.now() - RECENT_VOTE_MS) return undefined;
    return this.pollRow(id, Math.min(timeoutMs, RECORDING_WAIT_MS), { latest }, (row) => row !== undefined);
  }

  /**
   * Reads the reflection's row every DONE_POLL_MS (after this process's writes to the table) until
   * `enough` says so, for up to `timeoutMs`; the last row read, or undefined if none was.
   */
  private async pollRow(id: string, timeoutMs: number, read: { latest: boolean }, enough: (row: ReflectionRow | undefined) => boolean): Promise<ReflectionRow | undefined> {
    const end = this.now() + timeoutMs;
    let row: ReflectionRow | undefined;
    while (this.now() < end && !this.stopping.signal.aborted) {
      await pendingWrites(this.memory.db.reflections);
      row = await this.row(id, read);
      if (enough(row)) return row;
      await new Promise((resolve) => setTimeout(resolve, DONE_POLL_MS));
    }
    return row;
  }

  /** The reflection's row; `latest`: as it is now (a worker may have made it a moment ago). */
  private async row(id: string, { latest = false } = {}): Promise<ReflectionRow | undefined> {
    const table = this.memory.db.reflections;
    if (latest) await table.checkoutLatest();
    return ReflectionRows.parse(await table.query().where(`id = ${sqlString(id)}`).limit(1).toArray())[0];
  }
}

/** The reflection a person's 👎 on a run owes: one per person per run, however often it is toggled. */
function downVoteId(runId: string, userId: string): string {
  return `${runId}:down:${userId}`;
}
