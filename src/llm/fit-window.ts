/**
 * A ChatModel that keeps every prompt inside the model's context window, with room for the reply.
 * The window comes from resolveContextWindow (context-window.ts), asked once, on the first
 * request. Before each request the messages are fitted (shrink-prompt.ts says in what order);
 * when a server still refuses the prompt as too long (context-overflow.ts), the smaller limit is
 * learned for the model for the rest of the process, and the request is fitted again and retried.
 * That matters most where the window is unknown: vLLM, llama.cpp, OpenAI and LM Studio refuse
 * with a 400, while Ollama silently drops the oldest messages, goal included
 * (../shared/notes/model-servers.md §5).
 */
import type { Logger } from '../log.js';
import { contextOverflow, type ContextOverflow } from './context-overflow.js';
import type { ContextWindowInfo } from './context-window.js';
import { fitMessages, promptBudget, toolSpecTokens } from './shrink-prompt.js';
import { toolsWithin, type ToolDetail } from './compact-tools.js';
import type { ChatModel, ChatRequest, ChatResponse, ToolSpec } from './types.js';

/** Refusals answered with a smaller prompt before the error is passed on. */
export const MAX_OVERFLOW_RETRIES = 2;
/** A refusal that names no window (or names one we were already under) shrinks it by a quarter. */
const SHRINK_FACTOR = 0.75;
const MIN_WINDOW_TOKENS = 512;
/**
 * The share of the prompt budget tool descriptions may take before they are shortened
 * (compact-tools.ts): the built-in tools fit whole from a ~12,000-token window up.
 */
const TOOL_SHARE = 0.3;

/**
 * The window to fit to after a refusal: the window the server states when it is smaller than ours;
 * when ours was right and only our estimate fell short, ours less the overrun (with half again as
 * a margin) — a request 3 tokens over a 4,096 window must not cost a quarter of it for the rest of
 * the process; a quarter less only when the server says nothing to go by.
 */
function nextWindow(window: number, overflow: ContextOverflow): number {
  if (overflow.limit !== null && overflow.limit < window) return overflow.limit;
  if (overflow.requested !== null) {
    const over = overflow.requested - (overflow.limit ?? window);
    if (over > 0) return window - Math.ceil(over * 1.5) - 16;
  }
  return Math.floor(window * (overflow.limit === null ? SHRINK_FACTOR : 0.9));
}

/** Windows learned from refusals, by model id; one map per process unless a test passes its own. */
export type LearnedWindows = Map<string, number>;
const PROCESS_LEARNED: LearnedWindows = new Map();

export interface FitWindowOptions {
  /** The configured or discovered window; called once, on the first request. */
  window: () => Promise<ContextWindowInfo>;
  /**
   * The longest reply a request may ask for when it names no limit: sent to the server (so Ollama,
   * which would otherwise let a reply run on, stops it), and the room kept free for the reply.
   * Small windows get less: at most an eighth of the window (at least 256 tokens).
   */
  maxOutputTokens?: number;
  log: Logger;
  learned?: LearnedWindows;
}

export class FitWindowModel implements ChatModel {
  private resolved: Promise<ContextWindowInfo> | undefined;
  private readonly learned: LearnedWindows;
  private readonly compactionNoted = new Set<string>();

  constructor(
    private readonly inner: ChatModel,
    private readonly options: FitWindowOptions,
  ) {
    this.learned = options.learned ?? PROCESS_LEARNED;
  }

  get model(): string {
    return this.inner.model;
  }

  /** The model underneath (e.g. the ToolCallingModel, for its state). */
  get wrapped(): ChatModel {
    return this.inner;
  }

  /** The window requests are fitted to now: the resolved one, or a smaller one learned since. */
  async contextWindow(): Promise<ContextWindowInfo & { learned: boolean }> {
    this.resolved ??= this.options.window().then((info) => {
      this.options.log.info({ model: this.model, contextTokens: info.tokens, source: info.source }, 'model context window');
      return info;
    });
    const info = await this.resolved;
    const learned = this.learned.get(this.model);
    return learned !== undefined && learned < info.tokens ? { ...info, tokens: learned, learned: true } : { ...info, learned: false };
  }

  async chat(request: ChatRequest): Promise<ChatResponse> {
    let window = (await this.contextWindow()).tokens;
    for (let retry = 0; ; retry++) {
      const limited = { ...request, ...this.replyLimit(request, window) };
      const fitted = this.fit(limited, window);
      try {
        return await this.inner.chat({ ...limited, ...fitted });
      } catch (err) {
        const overflow = request.signal?.aborted === true ? null : contextOverflow(err);
        if (overflow === null || retry >= MAX_OVERFLOW_RETRIES) throw err;
        const next = Math.max(MIN_WINDOW_TOKENS, nextWindow(window, overflow));
        if (next >= window) throw err;
        this.learn(next, window, overflow.words);
        window = next;
      }
    }
  }

  /** The request's own reply limit, else the configured one within an eighth of the window. */
  private replyLimit(request: ChatRequest, window: number): Pick<ChatRequest, 'maxOutputTokens'> {
    const configured = this.options.maxOutputTokens;
    if (request.maxOutputTokens !== undefined || configured === undefined) return {};
    return { maxOutputTokens: Math.min(configured, Math.max(256, Math.round(window / 8))) };
  }

  private fit(request: ChatRequest, window: number): Pick<ChatRequest, 'messages' | 'tools'> {
    const budget = promptBudget(window, request.maxOutputTokens);
    // What the tools really cost as sent: their JSON, or their description in prompt mode.
    const cost = (tools: readonly ToolSpec[]): number => Math.max(toolSpecTokens(tools), this.inner.toolTokens?.(tools) ?? 0);
    const offered = request.tools ?? [];
    const sent = offered.length === 0 ? { tools: offered, detail: 'full' as const, tokens: 0 } : toolsWithin(offered, Math.floor(budget * TOOL_SHARE), cost);
    if (sent.detail !== 'full') this.noteCompaction(window, sent.detail);
    // fitMessages counts the tools' JSON itself; what prompt mode adds beyond it comes off the budget here.
    const result = fitMessages(request.messages, sent.tools, budget - Math.max(0, sent.tokens - toolSpecTokens(sent.tools)));
    if (result.cuts.length > 0) {
      const level = result.fits ? 'debug' : 'warn';
      this.options.log[level](
        { model: this.model, contextTokens: window, promptBudget: budget, estimatedTokens: result.tokens, cuts: result.cuts },
        result.fits ? "prompt shrunk to fit the model's context window" : "prompt still over the model's context window after every cut; sending it as it is",
      );
    }
    return request.tools === undefined ? { messages: result.messages } : { messages: result.messages, tools: sent.tools };
  }

  /** Said once per window size: shorter tool descriptions change what the model reads. */
  private noteCompaction(window: number, detail: ToolDetail): void {
    const key = `${window}:${detail}`;
    if (this.compactionNoted.has(key)) return;
    this.compactionNoted.add(key);
    this.options.log.info(
      { model: this.model, contextTokens: window, toolDetail: detail },
      `Tool descriptions shortened (${detail}) to leave room in the model's ${window}-token context window.`,
    );
  }

  private learn(tokens: number, previous: number, words: string): void {
    const known = this.learned.get(this.model);
    if (known === undefined || tokens < known) this.learned.set(this.model, tokens);
    this.options.log.info(
      { model: this.model, contextTokens: tokens, previous, serverSaid: words },
      `The model server refused a prompt as too long; prompts are now fitted to ${tokens} tokens for this model. Set CAIRN_CONTEXT_TOKENS to the server's window to skip this.`,
    );
  }
}
