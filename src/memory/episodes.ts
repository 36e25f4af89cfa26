import { z } from 'zod';
import { pendingWrites, withCommitRetry, type Table } from './db.js';
import { GroupCommitter } from './group-commit.js';
import { sqlList, sqlString } from './schema.js';
import type { RunScope, Visibility } from './types.js';

export const TRIGGERS = ['slash', 'mention', 'schedule', 'cli'] as const;
export type Trigger = (typeof TRIGGERS)[number];
export const EPISODE_STATUSES = ['running', 'succeeded', 'failed', 'stopped', 'interrupted'] as const;
export type EpisodeStatus = (typeof EPISODE_STATUSES)[number];

/** One line per step, kept with the episode: what the agent decided and how its tools went. */
export const StepSummary = z.object({
  step: z.number().int(),
  decision: z.enum(['tool_calls', 'final']),
  reasoning: z.string().nullable(),
  tools: z.array(z.object({ name: z.string(), ok: z.boolean() })),
  /** The part of a plan or reflexion run the step belonged to, e.g. "Task 2/3: fetch the page". */
  stage: z.string().optional(),
});
export type StepSummary = z.output<typeof StepSummary>;

const jsonOf = <T extends z.ZodType>(schema: T) =>
  z.string().transform((raw, ctx): z.output<T> => {
    const parsed = schema.safeParse(JSON.parse(raw));
    if (parsed.success) return parsed.data;
    ctx.addIssue({ code: 'custom', message: 'stored JSON does not match its schema' });
    return z.NEVER;
  });

export const Vote = z.object({ userId: z.string(), vote: z.enum(['up', 'down']), comment: z.string().nullable(), at: z.number() });
export type Vote = z.output<typeof Vote>;
const FeedbackJson = z.string().transform((raw) => z.array(Vote).parse(JSON.parse(raw)));

const EpisodeRow = z
  .object({
    id: z.string(),
    goal: z.string(),
    mode: z.string(),
    trigger: z.enum(TRIGGERS),
    status: z.enum(EPISODE_STATUSES),
    visibility: z.enum(['private', 'channel', 'guild']),
    user_id: z.string(),
    channel_id: z.string().nullable(),
    guild_id: z.string().nullable(),
    steps: jsonOf(z.array(StepSummary)),
    answer: z.string().nullable(),
    reason: z.string().nullable(),
    prompt_tokens: z.number(),
    completion_tokens: z.number(),
    cost_usd: z.number().nullable(),
    feedback: jsonOf(z.array(Vote)),
    lesson_ids: jsonOf(z.array(z.string())),
    applied_lesson_ids: jsonOf(z.array(z.string())),
    started_at: z.number(),
    ended_at: z.number().nullable(),
  })
  .transform((r) => ({
    id: r.id,
    goal: r.goal,
    mode: r.mode,
    trigger: r.trigger,
    status: r.status,
    visibility: r.visibility,
    scope: { userId: r.user_id, ...(r.channel_id === null ? {} : { channelId: r.channel_id }), ...(r.guild_id === null ? {} : { guildId: r.guild_id }) } satisfies RunScope,
    steps: r.steps,
    answer: r.answer,
    reason: r.reason,
    usage: { promptTokens: r.prompt_tokens, completionTokens: r.completion_tokens },
    costUsd: r.cost_usd,
    feedback: r.feedback,
    lessonIds: r.lesson_ids,
    appliedLessonIds: r.applied_lesson_ids,
    startedAt: r.started_at,
    endedAt: r.ended_at,
  }));
export type Episode = z.output<typeof EpisodeRow>;

/** Full rows read (and parsed) per query when walking many runs. */
const EPISODE_BATCH = 100;
const EpisodeRows = z.array(EpisodeRow);
const OrderKeys = z.array(z.object({ id: z.string(), started_at: z.number() }));
const EndRows = z.array(z.object({ id: z.string(), ended_at: z.number().nullable() }));

export interface EpisodeStart {
  id: string;
  /** Where the run's turns (and lessons) are kept. */
  visibility: Visibility;
  /** Lessons put in the run's prompt. */
  appliedLessonIds?: string[];
  goal: string;
  mode: string;
  trigger: Trigger;
  scope: RunScope;
  startedAt: number;
}

export interface EpisodeEnd {
  status: Exclude<EpisodeStatus, 'running'>;
  steps: StepSummary[];
  answer: string | null;
  reason: string | null;
  usage: { promptTokens: number; completionTokens: number };
  costUsd: number | null;
  endedAt: number;
}

/** Episodic memory: one row per run, written when it starts and completed when it ends. */
export class EpisodeStore {
  private readonly writer: GroupCommitter;

  constructor(private readonly table: Table) {
    this.writer = new GroupCommitter(table, 'id');
  }

  async begin(start: EpisodeStart): Promise<void> {
    await this.writer.put(start.id, {
      id: start.id,
      goal: start.goal,
      mode: start.mode,
      trigger: start.trigger,
      status: 'running',
      visibility: start.visibility,
      user_id: start.scope.userId,
      channel_id: start.scope.channelId ?? null,
      guild_id: start.scope.guildId ?? null,
      steps: '[]',
      answer: null,
      reason: null,
      prompt_tokens: 0,
      completion_tokens: 0,
      cost_usd: null,
      feedback: '[]',
      lesson_ids: '[]',
      applied_lesson_ids: JSON.stringify(start.appliedLessonIds ?? []),
      started_at: start.startedAt,
      ended_at: null,
    });
  }

  async finish(id: string, end: EpisodeEnd): Promise<void> {
    await this.update(id, {
      status: end.status,
      steps: JSON.stringify(end.steps),
      answer: end.answer,
      reason: end.reason,
      prompt_tokens: end.usage.promptTokens,
      completion_tokens: end.usage.completionTokens,
      cost_usd: end.costUsd,
      ended_at: end.endedAt,
    });
  }

  /** Records a vote (one per user per run; a new vote replaces that user's earlier one). */
  async vote(id: string, vote: Vote): Promise<Episode> {
    const episode = await this.get(id);
    if (episode === undefined) throw new Error(`There is no run with id ${id}.`);
    // Merged with the row as it is at commit time, so votes arriving together all land.
    let feedback = episode.feedback;
    await this.writer.apply(id, (row) => {
      if (row === undefined) return null;
      const stored = FeedbackJson.parse(row.feedback);
      feedback = [...stored.filter((v) => v.userId !== vote.userId), vote];
      return { ...row, feedback: JSON.stringify(feedback) };
    });
    return { ...episode, feedback };
  }

  /** The run as stored once the writes queued before this call have landed. */
  /**
   * `fresh`: read from the latest version, not one up to a second old (another process — a worker —
   * may have written the run a moment ago).
   */
  async get(id: string, { fresh = false } = {}): Promise<Episode | undefined> {
    await this.writer.idle();
    await pendingWrites(this.table);
    if (fresh) await this.table.checkoutLatest();
    const rows = await this.table.query().where(`id = ${sqlString(id)}`).limit(1).toArray();
    return rows[0] === undefined ? undefined : EpisodeRow.parse(rows[0]);
  }

  /** Newest first; only the `limit` rows returned are read in full and parsed. */
  async list(where: string | undefined, limit = 20): Promise<Episode[]> {
    const out: Episode[] = [];
    for await (const episode of this.newestFirst(where, limit)) out.push(episode);
    return out;
  }

  /**
   * Newest first, read and parsed `batch` rows at a time: a user's whole history can be walked
   * (exported) without holding it. Only ids and start times are read for all matching rows.
   */
  async *newestFirst(where: string | undefined, limit = Number.POSITIVE_INFINITY, batch = EPISODE_BATCH): AsyncGenerator<Episode> {
    if (limit <= 0) return;
    await this.writer.idle();
    await pendingWrites(this.table);
    const ids = OrderKeys.parse(await this.select(where, ['id', 'started_at']))
      .sort((a, b) => b.started_at - a.started_at)
      .slice(0, limit)
      .map((k) => k.id);
    for (let i = 0; i < ids.length; i += batch) {
      const page = ids.slice(i, i + batch);
      const rows = EpisodeRows.parse(await this.table.query().where(`id IN ${sqlList(page)}`).limit(page.length).toArray());
      const position = new Map(page.map((id, index) => [id, index]));
      yield* rows.sort((a, b) => (position.get(a.id) ?? 0) - (position.get(b.id) ?? 0));
    }
  }

  async count(where?: string): Promise<number> {
    await this.writer.idle();
    await pendingWrites(this.table);
    return this.table.countRows(where);
  }

  /** When each of these runs ended (null: still running, or stranded by a crash); unknown ids are absent. */
  async endTimes(ids: readonly string[]): Promise<Map<string, number | null>> {
    const out = new Map<string, number | null>();
    for (let i = 0; i < ids.length; i += EPISODE_BATCH) {
      const page = ids.slice(i, i + EPISODE_BATCH);
      for (const row of EndRows.parse(await this.select(`id IN ${sqlList(page)}`, ['id', 'ended_at']))) out.set(row.id, row.ended_at);
    }
    return out;
  }

  /**
   * Runs a crash left "running" (but those `resumed`, and those started at or after
   * `startedBefore`: other processes may be running them): marked interrupted and returned so
   * surfaces can say so.
   */
  async markInterrupted(reason: string, now: number, resumed: ReadonlySet<string> = new Set(), startedBefore = Number.POSITIVE_INFINITY): Promise<Episode[]> {
    // Bounded: a later start marks any beyond this. Runs resumed from their journal are running again.
    const stranded = (await this.list(`status = 'running'`, 1_000)).filter((episode) => !resumed.has(episode.id) && episode.startedAt < startedBefore);
    for (const episode of stranded) await this.update(episode.id, { status: 'interrupted', reason, ended_at: now });
    return stranded.map((e) => ({ ...e, status: 'interrupted' as const, reason, endedAt: now }));
  }

  /** Records which lessons the run was given. */
  async setApplied(id: string, lessonIds: readonly string[]): Promise<void> {
    await this.update(id, { applied_lesson_ids: JSON.stringify(lessonIds) });
  }

  /** Links a lesson learned from this run to it. */
  async addLesson(id: string, lessonId: string): Promise<void> {
    await this.writer.apply(id, (row) => {
      if (row === undefined) return null;
      const ids = z.array(z.string()).parse(JSON.parse(String(row.lesson_ids)));
      return ids.includes(lessonId) ? row : { ...row, lesson_ids: JSON.stringify([...ids, lessonId]) };
    });
  }

  /** Marks one run interrupted (e.g. cut short by a shutdown), whatever it recorded before. */
  async interrupt(id: string, reason: string, now: number): Promise<void> {
    await this.update(id, { status: 'interrupted', reason, ended_at: now });
  }

  async forgetUser(userId: string): Promise<number> {
    const where = `user_id = ${sqlString(userId)}`;
    const count = await this.table.countRows(where);
    await withCommitRetry(this.table, () => this.table.delete(where));
    return count;
  }

  /** Just these columns of the matching rows (no JSON parsed). */
  private async select(where: string | undefined, columns: string[]): Promise<unknown[]> {
    const query = this.table.query().select(columns);
    return (where === undefined ? query : query.where(where)).toArray();
  }

  /** Changes some columns of an existing run; a run that is not there stays absent. */
  private async update(id: string, values: Record<string, string | number | null>): Promise<void> {
    await this.writer.apply(id, (row) => (row === undefined ? null : { ...row, ...values }));
  }
}
