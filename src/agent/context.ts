import type { ChatMessage, ToolCall } from '../llm/types.js';
import { oneLine } from '../text.js';
import { CONDENSED_STEPS_HEADER } from '../llm/shrink-prompt.js';

/** One completed tool-calling step, as kept for the prompt. */
export interface StepRecord {
  step: number;
  /** The text the model wrote alongside its tool calls (its answer part: never its reasoning output). */
  reasoning: string | null;
  toolCalls: ToolCall[];
  results: { callId: string; tool: string; ok: boolean; content: string }[];
}

export interface ContextOptions {
  /** Latest steps kept verbatim (tool calls and full results). */
  recentSteps: number;
  /** Token budget of the digest that replaces older steps. */
  digestTokens: number;
  /** Characters of each condensed observation kept in the digest. */
  excerptChars: number;
}

export const DEFAULT_CONTEXT_OPTIONS: ContextOptions = { recentSteps: 3, digestTokens: 700, excerptChars: 160 };

interface FoldedSteps {
  from: number;
  to: number;
  calls: Map<string, { ok: number; failed: number }>;
}

/**
 * Builds the prompt for each model call and keeps it bounded: the head (system prompt, earlier
 * conversation, goal) and the latest steps are sent in full; older steps become one line each in
 * a digest, and when the digest outgrows its budget its oldest lines fold into per-tool counts.
 * Whole steps move at once, so every tool result still follows the call it answers.
 */
export class ContextWindow {
  private readonly recent: StepRecord[] = [];
  private readonly digestLines: { step: number; line: string; record: StepRecord }[] = [];
  private digestChars = 0;
  private folded: FoldedSteps | null = null;

  constructor(
    private readonly head: readonly ChatMessage[],
    private readonly options: ContextOptions = DEFAULT_CONTEXT_OPTIONS,
  ) {}

  addStep(record: StepRecord): void {
    this.recent.push(record);
    while (this.recent.length > this.options.recentSteps) {
      const old = this.recent.shift();
      if (old !== undefined) this.condense(old);
    }
  }

  /** The messages for the next call; `note` is a one-off instruction appended at the end. */
  messages(note?: string): ChatMessage[] {
    const out: ChatMessage[] = [...this.head];
    const digest = this.renderDigest();
    if (digest !== null) out.push({ role: 'user', content: digest });
    for (const record of this.recent) {
      out.push({ role: 'assistant', content: record.reasoning, toolCalls: record.toolCalls });
      for (const result of record.results) {
        out.push({ role: 'tool', toolCallId: result.callId, content: result.content });
      }
    }
    if (note !== undefined) out.push({ role: 'user', content: note });
    return out;
  }

  private condense(record: StepRecord): void {
    const { excerptChars } = this.options;
    const calls = record.toolCalls.map((call) => {
      const result = record.results.find((r) => r.callId === call.id);
      const outcome =
        result === undefined ? 'no result' : `${result.ok ? 'ok' : 'error'}: ${oneLine(result.content, excerptChars)}`;
      return `${call.name} ${oneLine(call.arguments, 100)} → ${outcome}`;
    });
    const thought = record.reasoning === null || record.reasoning.trim() === '' ? '' : ` (${oneLine(record.reasoning, 100)})`;
    const line = `Step ${record.step}${thought}: ${calls.join('; ')}`;
    this.digestLines.push({ step: record.step, line, record });
    this.digestChars += line.length + 1;
    const budgetChars = this.options.digestTokens * 4;
    while (this.digestChars > budgetChars && this.digestLines.length > 1) {
      const oldest = this.digestLines.shift();
      if (oldest === undefined) break;
      this.digestChars -= oldest.line.length + 1;
      this.fold(oldest.record);
    }
  }

  private fold(record: StepRecord): void {
    const folded: FoldedSteps = this.folded ?? { from: record.step, to: record.step, calls: new Map() };
    folded.to = record.step;
    for (const result of record.results) {
      const counts = folded.calls.get(result.tool) ?? { ok: 0, failed: 0 };
      if (result.ok) counts.ok += 1;
      else counts.failed += 1;
      folded.calls.set(result.tool, counts);
    }
    this.folded = folded;
  }

  private renderDigest(): string | null {
    if (this.digestLines.length === 0 && this.folded === null) return null;
    const parts = [CONDENSED_STEPS_HEADER];
    if (this.folded !== null) {
      const tally = [...this.folded.calls]
        .map(([tool, c]) => `${tool} ×${c.ok + c.failed}${c.failed > 0 ? ` (${c.failed} failed)` : ''}`)
        .join(', ');
      parts.push(`Steps ${this.folded.from}–${this.folded.to}: ${tally || 'no tool calls'}.`);
    }
    for (const { line } of this.digestLines) parts.push(line);
    return parts.join('\n');
  }
}
