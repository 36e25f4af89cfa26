import { z } from 'zod';
import { isBudgetRefusal, type Budgets } from '../budget/budgets.js';
import { usageOf } from '../llm/errors.js';
import { estimateCostUsd, type ModelPrice } from '../llm/pricing.js';
import { chatStructured } from '../llm/structured.js';
import type { ChatModel, TokenUsage } from '../llm/types.js';
import type { Logger } from '../log.js';
import { withCommitRetry } from '../memory/db.js';
import { writeLock } from '../memory/write-lock.js';
import { tableUpkeep } from '../memory/table-upkeep.js';
import type { Episode } from '../memory/episodes.js';
import type { Memory } from '../memory/memory.js';
import { ReflectionRow, sqlList, sqlString } from '../memory/schema.js';
import type { MemoryRecord } from '../memory/types.js';
import { errorMessage } from '../text.js';
import { Lesson, lessonText, reviewPrompt } from './lesson.js';
import { usagePlace } from '../usage/recorder.js';
import type { UsageLog } from '../usage/store.js';

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

export interface LearnedLesson {
  episode: Episode;
  lessonId: string;
  lesson: Lesson;
}

/** What a reflection may spend at most (it is one structured call, with one corrective retry). */
export const REFLECTION_HOLD_USD = 0.05;

/** Retry delays after a failed reflection (model unreachable, say); the last one repeats. */
const RETRY_DELAYS_MS = [30_000, 120_000, 600_000, 3_600_000];
const ReflectionRows = z.array(ReflectionRow);
/** Reflections one process claims at a time. */
const CLAIM_BATCH = 20;
/** How long a claim holds: far longer than a reflection (one model call) takes. */
const CLAIM_LEASE_MS = 10 * 60_000;

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

  constructor(
    private readonly memory: Memory,
    private readonly model: ChatModel,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    /**
     * Pays for reflections from the payer's daily budget and the run's server's, and records what
     * each cost in `usage`; without it (the terminal) they are free.
     */
    private readonly budget: { budgets: Budgets; price: ModelPrice | undefined; usage?: UsageLog } | null = null,
  ) {}

  /** Processes what earlier sessions left pending, then looks again every 30 s. */
  start(): void {
    this.kick();
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
    const id = request.cause === 'down_vote' ? `${request.runId}:down:${request.userId}` : `${request.runId}:${request.cause}`;
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
    await withCommitRetry(table, async () => {
      const existing = ReflectionRows.parse(await table.query().where(`id = ${sqlString(id)}`).toArray())[0];
      created = existing === undefined;
      if (existing === undefined) await table.add([row]);
      else if (existing.status === 'pending' && request.comment !== null && request.comment !== existing.comment) {
        // A comment arriving after the bare vote joins the reflection waiting for it (and ends the
        // wait); a reflection backing off after a failure keeps its schedule.
        const values: Record<string, string> = { comment: sqlString(request.comment) };
        if (existing.attempts === 0) values.next_attempt_at = String(this.now());
        await table.update({ where: `id = ${sqlString(id)}`, valuesSql: values });
      }
    });
    tableUpkeep.noteCommit(table);
    if ((request.delayMs ?? 0) === 0) this.kick();
    else {
      setTimeout(() => {
        this.kick();
      }, request.delayMs).unref();
    }
    return created;
  }

  /**
   * The lesson `userId`'s 👎 on `runId` taught, for a retry about to start: a reflection still
   * waiting (for the comment of a bare 👎, or queued) is made due now and awaited, up to
   * `timeoutMs`. `none`: no 👎 from them, or it taught nothing (no budget, no lesson); `pending`:
   * not ready in time (it carries on in the background, as usual).
   */
  async lessonFromDownVote(runId: string, userId: string, timeoutMs: number): Promise<{ state: 'none' | 'pending' } | { state: 'learned'; lessonId: string }> {
    const id = sqlString(`${runId}:down:${userId}`);
    const table = this.memory.db.reflections;
    const read = async () => ReflectionRows.parse(await table.query().where(`id = ${id}`).limit(1).toArray())[0];
    const before = await read();
    if (before === undefined) return { state: 'none' };
    // One that failed and is backing off keeps its schedule: the model was unreachable a moment ago.
    if (before.status === 'pending' && before.attempts === 0) {
      await withCommitRetry(table, () => table.update({ where: `id = ${id} AND status = 'pending'`, valuesSql: { next_attempt_at: String(this.now()) } }));
      this.kick();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([this.idle(), timeout]);
      clearTimeout(timer);
    }
    const after = await read();
    if (after?.status !== 'done') return { state: after === undefined ? 'none' : 'pending' };
    return after.lesson_id === null ? { state: 'none' } : { state: 'learned', lessonId: after.lesson_id };
  }

  /** Runs the due reflections, one pass at a time. */
  kick(): void {
    if (this.stopping.signal.aborted) return;
    this.working = this.working.then(() => this.processDue()).catch((error: unknown) => {
      this.log.error({ err: error }, 'reflection pass failed');
    });
  }

  async idle(): Promise<void> {
    await this.working;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    await this.idle();
  }

  private async processDue(): Promise<void> {
    const claimed = await this.claimDue();
    for (const [index, row] of claimed.entries()) {
      if (this.stopping.signal.aborted) {
        // Given back at once, not after the lease: another process (or the next start) takes them.
        const left = sqlList(claimed.slice(index).map((r) => r.id));
        const table = this.memory.db.reflections;
        await withCommitRetry(table, () => table.update({ where: `id IN ${left} AND status = 'working'`, valuesSql: { status: "'pending'", next_attempt_at: String(this.now()) } }));
        return;
      }
      await this.reflect(row);
    }
  }

  /**
   * The due reflections, claimed for this process: several processes share the table (a gateway
   * and workers), and each reflection is made once. Claimed under a lock across them, from the
   * latest version; a claim is a lease, so one whose process died is due again after it.
   */
  private async claimDue(): Promise<ReflectionRow[]> {
    const table = this.memory.db.reflections;
    return writeLock(this.memory.db.uri, 'reflections.claim').run(async () => {
      await table.checkoutLatest();
      const now = this.now();
      const due = ReflectionRows.parse(await table.query().where(`status IN ('pending', 'working') AND next_attempt_at <= ${now}`).limit(CLAIM_BATCH).toArray());
      if (due.length === 0) return [];
      const ids = sqlList(due.map((row) => row.id));
      await withCommitRetry(table, () => table.update({ where: `id IN ${ids}`, valuesSql: { status: "'working'", next_attempt_at: String(now + CLAIM_LEASE_MS) } }));
      tableUpkeep.noteCommit(table);
      return due;
    });
  }

  /** The lesson an earlier attempt of this reflection already saved, if any. */
  private async lessonFrom(row: ReflectionRow): Promise<MemoryRecord | undefined> {
    const lessons = await this.memory.semantic.list(`source_run_id = ${sqlString(row.run_id)} AND kind = 'lesson'`, 100);
    return lessons.find((m) => m.metadata.reflectionId === row.id);
  }

  private async reflect(row: ReflectionRow): Promise<void> {
    const table = this.memory.db.reflections;
    const set = async (values: Record<string, string>) => {
      await withCommitRetry(table, () => table.update({ where: `id = ${sqlString(row.id)}`, valuesSql: values }));
      tableUpkeep.noteCommit(table);
    };
    const episode = await this.memory.episodes.get(row.run_id);
    if (episode === undefined) {
      await set({ status: "'done'", error: sqlString('the run no longer exists') });
      return;
    }
    // A crash after the lesson was saved but before this row was marked done must not write it twice.
    const earlier = await this.lessonFrom(row);
    if (earlier !== undefined) {
      await this.memory.episodes.addLesson(episode.id, earlier.id);
      await set({ status: "'done'", lesson_id: sqlString(earlier.id), error: 'NULL' });
      return;
    }
    const place = { userId: row.user_id, guildId: episode.scope.guildId ?? null, channelId: episode.scope.channelId ?? null };
    const hold = this.budget === null ? null : this.budget.budgets.reserve(place, REFLECTION_HOLD_USD);
    if (hold !== null && isBudgetRefusal(hold)) {
      const whose = hold.budget === 'server' ? `server ${hold.guildId ?? ''}` : row.user_id;
      await set({ status: "'done'", error: sqlString(`not reflected: the daily budget of ${whose} is spent`) });
      this.log.info({ runId: row.run_id, userId: row.user_id, budget: hold.budget }, 'reflection skipped: no budget left today');
      return;
    }
    let learned: LearnedLesson;
    let costUsd: number | null = null;
    let used: TokenUsage | null = null;
    try {
      const { value: lesson, usage } = await chatStructured(this.model, { messages: reviewPrompt(episode, row), schema: Lesson, name: 'lesson', signal: this.stopping.signal });
      used = usage;
      costUsd = estimateCostUsd(usage, this.budget?.price);
      const saved = await this.memory.semantic.save({
        text: lessonText(lesson),
        kind: 'lesson',
        scope: episode.scope,
        // A private run's lesson stays private.
        visibility: episode.visibility === 'private' || episode.scope.channelId === undefined ? 'private' : 'channel',
        importance: 0.8,
        sourceRunId: episode.id,
        metadata: { ...lesson, cause: row.cause, comment: row.comment, reflectionId: row.id },
      });
      await this.memory.episodes.addLesson(episode.id, saved.id);
      // Keyword search can miss rows written since the last index refresh; the next run must not.
      await this.memory.maintenance.refreshIndexes();
      await set({ status: "'done'", lesson_id: sqlString(saved.id), error: 'NULL' });
      this.log.info({ runId: episode.id, lessonId: saved.id, cause: row.cause }, 'lesson learned');
      learned = { episode, lessonId: saved.id, lesson };
    } catch (error) {
      // A reply that stayed malformed was still paid for.
      const spent = used === null ? usageOf(error) : undefined;
      if (spent !== undefined) {
        used = spent;
        costUsd = estimateCostUsd(spent, this.budget?.price);
      }
      const attempts = row.attempts + 1;
      const delay = RETRY_DELAYS_MS[Math.min(attempts, RETRY_DELAYS_MS.length) - 1] ?? 3_600_000;
      const message = errorMessage(error);
      await set({ status: "'pending'", attempts: String(attempts), next_attempt_at: String(this.now() + delay), error: sqlString(message.slice(0, 500)) });
      this.log.warn({ runId: row.run_id, attempts, retryInMs: delay, error: message }, 'reflection failed; will retry');
      return;
    } finally {
      hold?.settle(costUsd, { kind: 'reflection', id: row.id });
      // A reflection the model answered is usage, whether or not its lesson could be kept.
      if (used !== null) this.recordUsage(row, episode, used, costUsd);
    }
    // The lesson is kept whatever happens to the notice about it.
    try {
      await this.onLesson?.(learned);
    } catch (error) {
      this.log.warn({ err: error, runId: row.run_id }, 'could not announce a lesson');
    }
  }

  /** The reflection's row in the usage table, in the run's server and channel, paid by its payer. */
  private recordUsage(row: ReflectionRow, episode: Episode, usage: TokenUsage, costUsd: number | null): void {
    const log = this.budget?.usage;
    if (log === undefined) return;
    const entry = {
      id: row.id,
      kind: 'reflection' as const,
      userId: row.user_id,
      ...usagePlace(episode.scope, episode.trigger),
      trigger: row.cause,
      visibility: episode.visibility,
      goal: episode.goal,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      usd: costUsd,
      at: this.now(),
    };
    this.memory.track(log.record(entry), 'recording a reflection’s usage', this.log);
  }
}
