import type { RunEvent, RunResult } from '../agent/events.js';
import { approvalText, formatCost, formatDuration } from '../console/render.js';
import { clip, oneLine } from '../text.js';
import { planChecklist, stageStatus, stageText } from './stage-text.js';

/** A text file posted with step summaries: a step's long reasoning. */
export interface StepFile {
  name: string;
  content: string;
}

/** Where a run's progress is shown; both may fail (Discord errors), which the view tolerates. */
export interface RunViewTargets {
  /** Replaces the status message. `running` says whether the Cancel button should be shown. */
  status(content: string, running: boolean): Promise<void>;
  /** Posts step summaries (with their files, at most 10) to the run's thread; absent when steps are shown inline. */
  step?: (content: string, files: StepFile[]) => Promise<void>;
  onError(error: unknown, what: string): void;
}

const INLINE_STEPS = 6;
/**
 * Step summaries posted to a thread are batched: one message at most this often per run, the
 * first this long after the run starts. Each post spends the bot's global request budget (the
 * status message's edits do not: they go through the interaction), so a run of a few seconds
 * posts its steps once, at its end.
 */
const STEP_POST_INTERVAL_MS = 3_000;
const tokens = (n: number) => (n < 1000 ? String(n) : `${(n / 1000).toFixed(1)}k`);
/** Longer reasoning is attached as a file rather than shown in the step summary. */
const REASONING_INLINE_CHARS = 1_500;
/** Reasoning shown in the status message when steps are inline (no thread, so no files). */
const REASONING_STATUS_CHARS = 150;
/** Discord's limit of files per message. */
const MAX_FILES = 10;
/** Reasoning beyond this is cut from its file (Discord's upload limit is far above it). */
const REASONING_FILE_CHARS = 1_000_000;

/** Text behind a spoiler, its own `|` escaped so that it cannot end the spoiler early. */
const spoiler = (text: string) => `||${text.replace(/\|/g, '\\|')}||`;
/** A spoiler a clip cut in half is closed again, so the rest of the message is not hidden. */
const closeSpoilers = (text: string) => ((text.match(/\|\|/g) ?? []).length % 2 === 1 ? `${text}||` : text);

/**
 * Renders run events for Discord: a status message edited at most about once a second (step n
 * of max, current action, elapsed time, tokens and cost) and a summary per step.
 */
export class RunView {
  private goal = '';
  private runId = '';
  private headline = '⏳ Starting…';
  private memoryLine = '';
  private stageLine = '';
  private planLines: string[] = [];
  private readonly inline: string[] = [];
  private readonly stepLines = new Map<number, string>();
  private readonly stepFiles = new Map<number, StepFile>();
  private pending: { content: string; running: boolean } | null = null;
  private lastEdit = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private finished = false;
  private readonly stepBatch: { text: string; file: StepFile | undefined }[] = [];
  private stepTimer: NodeJS.Timeout | undefined;
  private lastStepPost = Date.now();
  /** Set while a replayed event (src/agent/journal.ts) is handled: it was shown before the restart. */
  private replaying = false;
  private resumedLine = '';

  constructor(
    private readonly targets: RunViewTargets,
    private readonly minEditIntervalMs = 1_000,
  ) {}

  readonly sink = (event: RunEvent): void => {
    // Replayed events rebuild the view (headline, plan, the step under way) and post nothing.
    this.replaying = event.replayed === true;
    switch (event.type) {
      case 'started': {
        this.goal = event.goal;
        this.runId = event.runId;
        const m = event.memory;
        const seeThem = m !== null && m.lessons > 0 ? ` (\`/runs show id:${event.runId}\` lists them)` : '';
        this.memoryLine = m === null ? '' : `🧠 recalled ${m.memories} memor${m.memories === 1 ? 'y' : 'ies'}, ${m.lessons} lesson${m.lessons === 1 ? '' : 's'} applied${seeThem}`;
        this.headline = `🔄 **Working** · step 0/${event.maxSteps} · thinking`;
        break;
      }
      case 'step': {
        // A new step means every earlier one is complete: post them first, in order.
        for (const earlier of [...this.stepLines.keys()].filter((n) => n < event.step).sort((a, b) => a - b)) this.emitStep(earlier);
        const action = event.decision === 'final' ? 'writing the answer' : `calling ${event.toolNames.map((t) => `\`${t}\``).join(', ')}`;
        const used = event.usage.promptTokens + event.usage.completionTokens;
        this.headline = `🔄 **Working** · step ${event.step}/${event.maxSteps} · ${action} · ${formatDuration(event.elapsedMs)} · ${tokens(used)} tokens · ${formatCost(event.costUsd).replace(' (no price for this model)', '')}`;
        const thought = event.reasoning === null ? '' : event.thinking === true ? this.thinking(event.step, event.reasoning) : ` — *${oneLine(event.reasoning, 200)}*`;
        this.stepLines.set(event.step, `**Step ${event.step}** · ${event.decision === 'final' ? 'answer' : action}${thought}`);
        if (event.decision === 'final') this.emitStep(event.step);
        break;
      }
      case 'tool_result': {
        const mark = event.ok ? '✅' : '⚠️';
        const line = this.stepLines.get(event.step);
        if (line !== undefined) this.stepLines.set(event.step, `${line}\n${mark} \`${event.tool}\` ${oneLine(event.content, 160)}`);
        break;
      }
      case 'stage':
        // A stage starts between steps, so every step so far is complete: post them first.
        for (const step of [...this.stepLines.keys()].sort((a, b) => a - b)) this.emitStep(step);
        this.queueLine(stageText(event));
        this.stageLine = stageStatus(event);
        if (event.plan !== null) this.planLines = planChecklist(event.plan);
        break;
      case 'approval': {
        const line = this.stepLines.get(event.step);
        const mark = event.outcome === 'approved' ? '🔐' : '⛔';
        if (line !== undefined) this.stepLines.set(event.step, `${line}\n${mark} ${approvalText(event)}`);
        break;
      }
      case 'resumed':
        this.resumedLine = `↻ resumed after a restart${event.resumes > 1 ? ` (${event.resumes} times)` : ''}`;
        this.queueLine(`↻ **Resumed after a restart** at step ${event.step}: carrying on from there.`);
        break;
      case 'tool_call':
      case 'limit':
      case 'error':
        break;
      case 'final':
        for (const step of [...this.stepLines.keys()].sort((a, b) => a - b)) this.emitStep(step);
        this.headline = finalHeadline(event.result);
        this.finished = true;
        this.postSteps();
        this.flushNow();
        return;
    }
    if (!this.replaying) this.schedule();
  };

  /** Resolves when every queued Discord write has been attempted. */
  async settled(): Promise<void> {
    while (this.timer !== undefined || this.stepTimer !== undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    await this.chain;
  }

  /**
   * The model's reasoning, kept out of sight: behind a spoiler, or when long in a
   * `reasoning-step-N.txt` file posted with the step.
   */
  private thinking(step: number, reasoning: string): string {
    if (this.targets.step === undefined) return ` — 💭 ${spoiler(oneLine(reasoning, REASONING_STATUS_CHARS))}`;
    if (reasoning.length <= REASONING_INLINE_CHARS) return ` — 💭 ${spoiler(oneLine(reasoning, REASONING_INLINE_CHARS))}`;
    const name = `reasoning-step-${step}.txt`;
    this.stepFiles.set(step, { name, content: clip(reasoning, REASONING_FILE_CHARS) });
    return ` — 💭 reasoning in \`${name}\` (${reasoning.length.toLocaleString('en')} characters)`;
  }

  private emitStep(step: number): void {
    const line = this.stepLines.get(step);
    if (line === undefined) return;
    this.stepLines.delete(step);
    const file = this.stepFiles.get(step);
    this.stepFiles.delete(step);
    this.queueLine(line, file);
  }

  /** Queues a line for the thread (batched), or for the status message when steps are inline. */
  private queueLine(line: string, file?: StepFile): void {
    const text = closeSpoilers(clip(line, 1_900));
    if (this.targets.step !== undefined) {
      // Posted to the thread before the restart.
      if (this.replaying) return;
      this.stepBatch.push({ text, file });
      if (this.stepTimer === undefined) {
        const wait = Math.max(0, this.lastStepPost + STEP_POST_INTERVAL_MS - Date.now());
        this.stepTimer = setTimeout(() => {
          this.postSteps();
        }, wait);
      }
    } else {
      this.inline.push(closeSpoilers(oneLine(text, 300)));
      if (this.inline.length > INLINE_STEPS) this.inline.shift();
    }
  }

  /** Posts the batched step summaries as few messages as fit in Discord's limit. */
  private postSteps(): void {
    clearTimeout(this.stepTimer);
    this.stepTimer = undefined;
    const post = this.targets.step;
    if (post === undefined || this.stepBatch.length === 0) return;
    this.lastStepPost = Date.now();
    const messages: { content: string; files: StepFile[] }[] = [];
    for (const { text, file } of this.stepBatch.splice(0)) {
      const last = messages.at(-1);
      const fits = last !== undefined && last.content.length + text.length + 1 <= 1_950 && (file === undefined || last.files.length < MAX_FILES);
      if (fits) last.content = `${last.content}\n${text}`;
      else messages.push({ content: text, files: [] });
      if (file !== undefined) messages.at(-1)?.files.push(file);
    }
    for (const { content, files } of messages) this.enqueue(() => post(content, files), 'post steps');
  }

  private render(): string {
    const parts = [this.headline, `> ${oneLine(this.goal, 300)}`];
    if (this.memoryLine !== '') parts.push(this.memoryLine);
    if (this.resumedLine !== '') parts.push(this.resumedLine);
    if (this.stageLine !== '' && !this.finished) parts.push(this.stageLine);
    if (this.planLines.length > 0) parts.push(...this.planLines);
    if (this.inline.length > 0) parts.push(...this.inline);
    parts.push(`-# run \`${this.runId}\``);
    const content = parts.join('\n');
    return clip(content, 1_990);
  }

  private schedule(): void {
    this.pending = { content: this.render(), running: true };
    if (this.timer !== undefined) return;
    const wait = Math.max(0, this.lastEdit + this.minEditIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushNow();
    }, wait);
  }

  private flushNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const update = this.finished ? { content: this.render(), running: false } : this.pending;
    this.pending = null;
    if (update === null) return;
    this.lastEdit = Date.now();
    this.enqueue(() => this.targets.status(update.content, update.running), 'update the status message');
  }

  /** Writes go out one at a time, in order; a failed write is reported and skipped. */
  private enqueue(write: () => Promise<void>, what: string): void {
    this.chain = this.chain.then(write).catch((error: unknown) => {
      this.targets.onError(error, what);
    });
  }
}

export function finalHeadline(result: RunResult): string {
  const used = result.usage.promptTokens + result.usage.completionTokens;
  const elapsed = Date.parse(result.endedAt) - Date.parse(result.startedAt);
  const stats = `${result.steps} step${result.steps === 1 ? '' : 's'} · ${formatDuration(elapsed)} · ${tokens(used)} tokens · ${formatCost(result.costUsd).replace(' (no price for this model)', '')}`;
  if (result.status === 'succeeded') return `✅ **Done** · ${stats}`;
  if (result.status === 'stopped') return `⏹️ **Stopped** — ${result.reason ?? 'stopped'} · ${stats}`;
  return `❌ **Failed** — ${result.reason ?? 'failed'} · ${stats}`;
}
