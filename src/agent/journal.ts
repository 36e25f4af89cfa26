import type { OutgoingFile } from '../files/types.js';
import type { ChatModel, ChatRequest, ChatResponse, ToolCall, ToolSpec } from '../llm/types.js';
import type { Tool, ToolOutcome } from '../tools/types.js';
import type { ApprovalDecision } from './approval.js';
import type { LimitHit } from './budget.js';
import type { RunMemoryContext } from './memory-port.js';
import type { PlacedFile } from './run-files.js';

/**
 * A durable run's journal: every effect the run had on the world or took from it, in order.
 * A restarted process replays a run by running its mode again with each model reply, tool
 * outcome and approval taken from here instead of being asked for again, until the journal runs
 * out; from there the run goes on live. The mode code is deterministic given these, so replay
 * rebuilds its whole state (messages, budget, plan, attempts) without a snapshot format of its own.
 */
export type JournalEntry = { /** Run time (ms) when it was recorded: a resumed run's clock carries on from the last. */ elapsedMs: number } & (
  | { kind: 'memory'; context: RunMemoryContext | null }
  | { kind: 'files'; placed: PlacedFile[]; images: { name: string; mimeType: string }[] }
  | { kind: 'model'; response: ChatResponse }
  /** Written before a tool runs: a journal that ends here means the process died during the call. */
  | { kind: 'tool_started'; callId: string; tool: string }
  | { kind: 'tool'; callId: string; outcome: ToolOutcome; attached: OutgoingFile[] }
  | { kind: 'approval'; callId: string; decision: ApprovalDecision }
);

export type JournalKind = JournalEntry['kind'];
type EntryOf<K extends JournalKind> = Extract<JournalEntry, { kind: K }>;
/** What an entry carries besides its time, as a caller hands it over. */
export type JournalRecord = { [K in JournalKind]: Omit<EntryOf<K>, 'elapsedMs'> }[JournalKind];

/** Where a durable run's journal lives (src/durable): what was recorded before, and appends. */
export interface RunJournal {
  /** Entries recorded before this process took the run over, oldest first (empty for a new run). */
  readonly recorded: readonly JournalEntry[];
  /** Stores entries, in order, in one write; resolves once they are durable (the run does not act on them before). */
  append(entries: readonly JournalEntry[]): Promise<void>;
}

/** A journal that records nothing: runs that are not durable (the terminal's, tests'). */
export const NO_JOURNAL: RunJournal = { recorded: [], append: () => Promise.resolve() };

/** What a model reply or tool outcome in the journal no longer matches: the code that made it changed. */
export class JournalMismatch extends Error {}

/** The message a tool call gets when a restart cut it short and running it again could do harm twice. */
export function interruptedNote(tool: string): string {
  return (
    `The call to "${tool}" was interrupted by a restart of Cairn before it finished, so its outcome is unknown: ` +
    'it may or may not have taken effect. Check whether it did before doing it again.'
  );
}

/**
 * A tool that may run again after a restart cut it short: it only reads (files, the time, a
 * search, a GET) or doing it twice is doing it once (attaching a file). Others are reported to
 * the model as interrupted instead.
 */
export function safeToRepeat(tool: Tool | undefined): boolean {
  return tool?.idempotent === true;
}

/**
 * The cursor over a run's journal. While recorded entries remain, effects are taken from it;
 * after the first live effect nothing is replayed again. Events emitted before that are
 * replays (surfaces rebuild their state from them without posting anything again).
 */
export class RunReplay {
  private cursor = 0;
  private live: boolean;

  constructor(
    private readonly journal: RunJournal,
    /** The run's signal: what a call aborted by it returns is not recorded (the call did not finish). */
    private readonly signal: AbortSignal,
    private readonly elapsedMs: () => number,
    /** Stops the run when the journal and the code disagree (a deploy changed the mode's path). */
    private readonly diverged: (hit: LimitHit) => void,
    /** Told once, as a resumed run does its first live work: where replay ended. */
    private readonly resumed: () => void = () => undefined,
  ) {
    this.live = journal.recorded.length === 0;
    this.durable = journal !== NO_JOURNAL;
  }

  /** False for a run without a journal: nothing is recorded, and calls go straight through. */
  private readonly durable: boolean;

  /** True while a resumed run is being replayed: until it does its first live work. */
  get replaying(): boolean {
    return !this.live;
  }

  /** Run time when the journal's last entry was written (0 for a new run). */
  get recordedElapsedMs(): number {
    return this.journal.recorded.at(-1)?.elapsedMs ?? 0;
  }

  /** The next recorded entry if it is of `kind` (and matches), undefined once the journal is used up. */
  take<K extends JournalKind>(kind: K, matches: (entry: EntryOf<K>) => boolean = () => true): EntryOf<K> | undefined {
    if (this.live) return undefined;
    const entry = this.journal.recorded[this.cursor];
    if (entry === undefined) return undefined;
    if (entry.kind !== kind || !matches(entry as EntryOf<K>)) {
      const found = 'callId' in entry ? `${entry.kind} of call ${entry.callId}` : entry.kind;
      const detail = `this run was recorded by a different version of Cairn and cannot be resumed (its record has ${found} where it now needs ${kind})`;
      this.diverged({ limit: 'cancelled', detail });
      throw new JournalMismatch(detail);
    }
    this.cursor += 1;
    return entry as EntryOf<K>;
  }

  /** Whether recorded entries are left to replay. */
  private get exhausted(): boolean {
    return this.live || this.cursor >= this.journal.recorded.length;
  }

  /** The run is ending: what follows (its result, its answer) was never shown, even if every step was replayed. */
  finish(): void {
    this.goLive();
  }

  /** From here on the run does live work (and records it). */
  private goLive(): void {
    if (this.live) return;
    this.live = true;
    this.resumed();
  }

  /** Records a live effect (with the entries held back by `defer`, in one write). */
  async record(entry: JournalRecord): Promise<void> {
    this.goLive();
    if (!this.durable) return;
    const entries = [...this.deferred.splice(0), { ...entry, elapsedMs: this.elapsedMs() }];
    await this.journal.append(entries);
  }

  /**
   * Records an entry with the next one, in the same write: for what the run took in before acting
   * (its files, its recall), which nothing outside depends on until the run's next record.
   */
  defer(entry: JournalRecord): void {
    this.goLive();
    if (!this.durable) return;
    this.deferred.push({ ...entry, elapsedMs: this.elapsedMs() });
  }

  private readonly deferred: JournalEntry[] = [];

  /** The run's model, journaled: replies come from the journal while it lasts, and are recorded after. */
  model(inner: ChatModel): ChatModel {
    if (!this.durable) return inner;
    const chat = async (request: ChatRequest): Promise<ChatResponse> => {
      const recorded = this.take('model');
      if (recorded !== undefined) return recorded.response;
      this.goLive();
      const response = await inner.chat(request);
      await this.record({ kind: 'model', response });
      return response;
    };
    const toolTokens = inner.toolTokens?.bind(inner);
    return { model: inner.model, chat, ...(toolTokens === undefined ? {} : { toolTokens: (tools: readonly ToolSpec[]) => toolTokens(tools) }) };
  }

  /**
   * One tool call, journaled. Replayed: its recorded outcome (and the files it attached). A call
   * the process died in is run again only when that is safe; otherwise the model is told its
   * outcome is unknown. Live: recorded as started before it runs, and with its outcome after.
   */
  async tool(call: ToolCall, tool: Tool | undefined, attach: ((file: OutgoingFile) => void) | undefined, run: (attached: OutgoingFile[]) => Promise<ToolOutcome>): Promise<ToolOutcome> {
    if (!this.durable) return run([]);
    try {
      return await this.toolOnce(call, tool, attach, run);
    } catch (error) {
      // The run was stopped (its signal says why); the loop ends it at its next check.
      if (error instanceof JournalMismatch) return { ok: false, content: error.message, truncated: false, durationMs: 0, error: { kind: 'aborted', message: error.message } };
      throw error;
    }
  }

  private async toolOnce(call: ToolCall, tool: Tool | undefined, attach: ((file: OutgoingFile) => void) | undefined, run: (attached: OutgoingFile[]) => Promise<ToolOutcome>): Promise<ToolOutcome> {
    const started = this.take('tool_started', (e) => e.callId === call.id);
    if (started !== undefined) {
      const finished = this.exhausted ? undefined : this.take('tool', (e) => e.callId === call.id);
      if (finished !== undefined) {
        for (const file of finished.attached) attach?.(file);
        return finished.outcome;
      }
      if (!safeToRepeat(tool)) {
        const content = interruptedNote(call.name);
        const outcome: ToolOutcome = { ok: false, content, truncated: false, durationMs: 0, error: { kind: 'interrupted', message: content } };
        await this.record({ kind: 'tool', callId: call.id, outcome, attached: [] });
        return outcome;
      }
      this.goLive();
    } else if (safeToRepeat(tool)) {
      // A call safe to repeat need not be on disk before it runs, nor its outcome before the run's
      // next record: a process dying in between runs it again. One write a step instead of three.
      this.defer({ kind: 'tool_started', callId: call.id, tool: call.name });
    } else {
      await this.record({ kind: 'tool_started', callId: call.id, tool: call.name });
    }
    const attached: OutgoingFile[] = [];
    const outcome = await run(attached);
    // Cut short by a cancellation or a suspension: left as started, so a resumed run treats it as interrupted.
    if (!this.signal.aborted) {
      const entry = { kind: 'tool' as const, callId: call.id, outcome, attached };
      if (safeToRepeat(tool)) this.defer(entry);
      else await this.record(entry);
    }
    return outcome;
  }

  /** A person's decision on a call: the recorded one, or asked for and recorded. */
  async approval(callId: string, ask: () => Promise<ApprovalDecision>): Promise<ApprovalDecision> {
    if (!this.durable) return ask();
    let recorded: EntryOf<'approval'> | undefined;
    try {
      recorded = this.take('approval', (e) => e.callId === callId);
    } catch (error) {
      // Stopped (see take): nothing runs.
      if (error instanceof JournalMismatch) return { outcome: 'denied', by: null };
      throw error;
    }
    if (recorded !== undefined) return recorded.decision;
    this.goLive();
    const decision = await ask();
    // An approver answers "denied" when the run stops while it waits: a resumed run asks again.
    if (!this.signal.aborted) await this.record({ kind: 'approval', callId, decision });
    return decision;
  }
}

/**
 * The reason to abort a durable run's signal with when the process is going away: the run
 * stops where it is, records nothing more, and `Agent.run` rejects with RunSuspendedError
 * instead of ending it, so that it resumes from its journal on the next start.
 */
export class RunSuspension {
  constructor(
    readonly detail: string,
    /** Another process has the run now (a queue worker that lost its lock): its record is theirs, left as it is. */
    readonly elsewhere = false,
  ) {}
}

/** A run stopped by a RunSuspension: not ended, its journal kept for the next start. */
export class RunSuspendedError extends Error {
  constructor(readonly runId: string) {
    super(`run ${runId} was suspended`);
  }
}
