/**
 * Makes one reflection: reads the run's episode, asks the model what to do instead (paid from the
 * payer's daily budget and the run's server's), saves the lesson, and marks the reflection done —
 * or, when the model fails, sets it to be tried again later.
 */
import { isBudgetRefusal, type Budgets } from '../budget/budgets.js';
import { usageOf } from '../llm/errors.js';
import { estimateCostUsd, type ModelPrice } from '../llm/pricing.js';
import { chatStructured } from '../llm/structured.js';
import type { ChatModel, TokenUsage } from '../llm/types.js';
import type { Logger } from '../log.js';
import { withCommitRetry } from '../memory/db.js';
import type { Episode } from '../memory/episodes.js';
import type { Memory } from '../memory/memory.js';
import { sqlString, type ReflectionRow } from '../memory/schema.js';
import { tableUpkeep } from '../memory/table-upkeep.js';
import type { MemoryRecord } from '../memory/types.js';
import { errorMessage } from '../text.js';
import { usagePlace } from '../usage/recorder.js';
import type { UsageLog } from '../usage/store.js';
import { Lesson, lessonText, reviewPrompt } from './lesson.js';

/** What a reflection may spend at most (it is one structured call, with one corrective retry). */
export const REFLECTION_HOLD_USD = 0.05;

/** Retry delays after a failed reflection (model unreachable, say); the last one repeats. */
const RETRY_DELAYS_MS = [30_000, 120_000, 600_000, 3_600_000];

export interface LearnedLesson {
  episode: Episode;
  lessonId: string;
  lesson: Lesson;
}

/** Pays for reflections and records their usage; null (the terminal): they are free. */
export type ReflectionBudget = { budgets: Budgets; price: ModelPrice | undefined; usage?: UsageLog } | null;

export interface LessonMakerHooks {
  /** Told about each lesson learned (read per lesson: the bot sets it after the start). */
  onLesson: () => ((learned: LearnedLesson) => Promise<void> | void) | undefined;
  /** A failed reflection is due again at `at`. */
  retryAt: (reflectionId: string, at: number) => void;
}

export class LessonMaker {
  constructor(
    private readonly memory: Memory,
    private readonly model: ChatModel,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly budget: ReflectionBudget,
    /** Aborts an in-flight reflection on close; it stays pending and is retried next time. */
    private readonly signal: AbortSignal,
    private readonly hooks: LessonMakerHooks,
  ) {}

  /** The lesson an earlier attempt of this reflection already saved, if any. */
  private async lessonFrom(row: ReflectionRow): Promise<MemoryRecord | undefined> {
    const lessons = await this.memory.semantic.list(`source_run_id = ${sqlString(row.run_id)} AND kind = 'lesson'`, 100);
    return lessons.find((m) => m.metadata.reflectionId === row.id);
  }

  /** Makes the reflection `row` (claimed by this process): a lesson saved, or the row set to retry later. */
  async make(row: ReflectionRow): Promise<void> {
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
      const { value: lesson, usage } = await chatStructured(this.model, { messages: reviewPrompt(episode, row), schema: Lesson, name: 'lesson', signal: this.signal });
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
      const retryAt = this.now() + delay;
      await set({ status: "'pending'", attempts: String(attempts), next_attempt_at: String(retryAt), error: sqlString(message.slice(0, 500)) });
      this.log.warn({ runId: row.run_id, attempts, retryInMs: delay, error: message }, 'reflection failed; will retry');
      this.hooks.retryAt(row.id, retryAt);
      return;
    } finally {
      hold?.settle(costUsd, { kind: 'reflection', id: row.id });
      // A reflection the model answered is usage, whether or not its lesson could be kept.
      if (used !== null) this.recordUsage(row, episode, used, costUsd);
    }
    // The lesson is kept whatever happens to the notice about it.
    try {
      await this.hooks.onLesson()?.(learned);
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
