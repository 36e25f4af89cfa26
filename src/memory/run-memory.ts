import type { AgentMemory, RunInfo, RunMemoryContext, StepSummary } from '../agent/memory-port.js';
import type { RunResult } from '../agent/events.js';
import type { Logger } from '../log.js';
import type { Memory } from './memory.js';
import { lessonApplies } from './lesson-match.js';
import { CAIRN_SPEAKER, renderRunContext } from './run-context.js';
import { MAX_MEMORY_CHARS } from './semantic.js';
import { readableScopes, type MemoryInput, type RecallHit } from './types.js';

export interface RunMemoryOptions {
  /** Tokens of the system prompt given to memory (working blocks, lessons, memories). */
  budgetTokens: number;
  memoryLimit: number;
  lessonLimit: number;
  /** A recalled memory must match the goal's words or be at least this similar to count as relevant. */
  minSimilarity: number;
  /** Recency half-life for conversation turns and other memories. */
  recencyHalfLifeMs: number;
}

/** Below this importance a lesson is no longer applied (each 👎 after applying it multiplies by 0.6). */
export const MIN_LESSON_IMPORTANCE = 0.2;

export const DEFAULT_RUN_MEMORY: RunMemoryOptions = {
  budgetTokens: 2_000,
  memoryLimit: 8,
  lessonLimit: 3,
  minSimilarity: 0.35,
  recencyHalfLifeMs: 30 * 86_400_000,
};

function clip(text: string): string {
  return text.length <= MAX_MEMORY_CHARS ? text : `${text.slice(0, MAX_MEMORY_CHARS - 20)} … [shortened]`;
}

/** Memory as the agent sees it: recall before a run, the episode and its turns after. */
export class RunMemory implements AgentMemory {
  constructor(
    private readonly memory: Memory,
    private readonly log: Logger,
    private readonly options: RunMemoryOptions = DEFAULT_RUN_MEMORY,
    /** Told when a run failed or was stopped by a limit (not by a person): reflection's cue. */
    private readonly onRunWentWrong?: (run: RunInfo, result: RunResult) => void,
  ) {}

  async beforeRun(run: RunInfo, signal: AbortSignal): Promise<RunMemoryContext> {
    await this.memory.episodes.begin({
      id: run.runId,
      goal: run.goal,
      mode: run.mode,
      trigger: run.trigger,
      scope: run.scope,
      visibility: run.visibility,
      startedAt: run.startedAt.getTime(),
    });
    const scopes = readableScopes(run.scope);
    const relevant = (hits: RecallHit[]) =>
      hits.filter((h) => h.explanation.textRank !== null || (h.explanation.similarity ?? 0) >= this.options.minSimilarity);
    const [blocks, lessons, memories] = await Promise.all([
      this.memory.working.blocksFor(run.scope),
      this.memory.semantic.recall({ query: run.goal, scopes, kinds: ['lesson'], limit: this.options.lessonLimit }, signal),
      this.memory.semantic.recall(
        { query: run.goal, scopes, kinds: ['fact', 'note', 'report', 'turn'], limit: this.options.memoryLimit, recencyHalfLifeMs: this.options.recencyHalfLifeMs },
        signal,
      ),
    ]);
    // A lesson applies to goals that match what it is for (embeddings alone also match unrelated
    // goals), and while 👎 on the runs that followed it has not worn it down.
    const applicable = lessons.filter((h) => lessonApplies(run.goal, h.memory) && h.memory.importance >= MIN_LESSON_IMPORTANCE);
    const rendered = renderRunContext({ userId: run.scope.userId, blocks, lessons: applicable, memories: relevant(memories), budgetTokens: this.options.budgetTokens });
    const applied = applicable.slice(0, rendered.lessons).map((h) => h.memory.id);
    if (applied.length > 0) await this.memory.episodes.setApplied(run.runId, applied);
    return { prompt: rendered.prompt, workingBlocks: blocks.length, memories: rendered.memories, lessons: rendered.lessons, fromOthers: rendered.fromOthers };
  }

  /**
   * Queues the episode's completion and the run's turns without waiting for them: the answer
   * need not wait for the database. Writes to a table keep their order, and the episode was
   * written when the run began, so a crash leaves it "running", never missing.
   */
  afterRun(run: RunInfo, result: RunResult, steps: StepSummary[]): Promise<void> {
    const finished = this.memory.episodes.finish(run.runId, {
      status: result.status,
      steps,
      answer: result.answer,
      reason: result.reason ?? null,
      usage: result.usage,
      costUsd: result.costUsd,
      endedAt: Date.parse(result.endedAt),
    });
    this.memory.track(finished, 'completing the episode', this.log);
    const base = { scope: run.scope, visibility: run.visibility, sourceRunId: run.runId } as const;
    const turns: MemoryInput[] = [{ ...base, kind: 'turn', text: clip(run.goal), speaker: run.scope.userName ?? 'user', createdAt: run.startedAt }];
    if (result.answer !== null) {
      turns.push({ ...base, kind: 'turn', text: clip(result.answer), speaker: CAIRN_SPEAKER, context: clip(run.goal), createdAt: new Date(result.endedAt) });
    }
    this.memory.track(this.memory.semantic.saveMany(turns), 'saving the run’s turns', this.log);
    if (result.status !== 'succeeded' && result.limit !== 'cancelled') this.onRunWentWrong?.(run, result);
    return Promise.resolve();
  }
}
