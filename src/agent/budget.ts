import type { ModelSpend, TokenUsage } from '../llm/types.js';
import type { LimitKind } from './events.js';

export interface RunLimits {
  /** Model calls allowed. */
  maxSteps: number;
  /** Prompt + completion tokens over the whole run. */
  maxTokens: number;
  /** Estimated spend; only enforceable when the model's price is known. */
  maxCostUsd: number;
  /** Wall-clock time for the whole run. */
  maxDurationMs: number;
}

export interface LimitHit {
  limit: LimitKind;
  detail: string;
  /** Stopped by a RunSuspension (src/agent/journal.ts): the run resumes later, so what waits for a person keeps waiting. */
  suspended?: true;
}

export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
}

/** Tracks what a run has spent and says when a limit is (or would be) exceeded. */
export class Budget {
  readonly usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
  steps = 0;

  constructor(
    readonly limits: RunLimits,
    private readonly price: ModelPrice | undefined,
  ) {}

  get totalTokens(): number {
    return this.usage.promptTokens + this.usage.completionTokens;
  }

  /** Estimated cost so far, or null when the model's price is unknown. */
  get costUsd(): number | null {
    return this.price === undefined ? null : this.costOf(this.usage.promptTokens, this.usage.completionTokens);
  }

  private costOf(promptTokens: number, completionTokens: number): number {
    if (this.price === undefined) return 0;
    return (promptTokens * this.price.inputPerMTok + completionTokens * this.price.outputPerMTok) / 1_000_000;
  }

  /** Usage of a call that is not a step of its own (e.g. the completion check). */
  charge(usage: TokenUsage): void {
    this.usage.promptTokens += usage.promptTokens;
    this.usage.completionTokens += usage.completionTokens;
  }

  /** This budget for a model call a tool makes itself: held to tokens and cost like any side call, and charged. */
  asModelSpend(): ModelSpend {
    return {
      allows: (estimated) => this.beforeCall(estimated, false) === null,
      charge: (usage) => {
        this.charge(usage);
      },
    };
  }

  record(usage: TokenUsage): void {
    this.steps += 1;
    this.usage.promptTokens += usage.promptTokens;
    this.usage.completionTokens += usage.completionTokens;
  }

  /**
   * Checked before each model call with the estimated size of the next prompt, so a run stops
   * before overspending rather than after. Calls that are not steps (planning, evaluation,
   * reflection, synthesis) pass `countsAsStep: false` and are held to tokens and cost only.
   */
  beforeCall(nextPromptTokens: number, countsAsStep = true): LimitHit | null {
    const { maxSteps, maxTokens, maxCostUsd } = this.limits;
    if (countsAsStep && this.steps >= maxSteps) {
      return { limit: 'steps', detail: `reached the limit of ${maxSteps} steps` };
    }
    if (this.totalTokens + nextPromptTokens > maxTokens) {
      return {
        limit: 'tokens',
        detail: `the next step would exceed the token budget (${this.totalTokens.toLocaleString('en')} used, next prompt ≈${nextPromptTokens.toLocaleString('en')}, limit ${maxTokens.toLocaleString('en')})`,
      };
    }
    const cost = this.costUsd;
    if (cost !== null && cost + this.costOf(nextPromptTokens, 0) > maxCostUsd) {
      return {
        limit: 'cost',
        detail: `the next step would exceed the cost budget ($${cost.toFixed(4)} spent, limit $${maxCostUsd})`,
      };
    }
    return null;
  }

  /** Checked after each model call: a long completion can overshoot what beforeCall predicted. */
  afterCall(): LimitHit | null {
    const { maxTokens, maxCostUsd } = this.limits;
    if (this.totalTokens > maxTokens) {
      return {
        limit: 'tokens',
        detail: `used ${this.totalTokens.toLocaleString('en')} tokens, over the limit of ${maxTokens.toLocaleString('en')}`,
      };
    }
    const cost = this.costUsd;
    if (cost !== null && cost > maxCostUsd) {
      return { limit: 'cost', detail: `spent $${cost.toFixed(4)}, over the limit of $${maxCostUsd}` };
    }
    return null;
  }
}
