/**
 * ChatModel over any OpenAI-compatible Chat Completions server, through the official SDK.
 * The SDK's retries are off: retry.ts owns retries so waits are abortable and logged.
 */
import OpenAI from 'openai';
import type { Logger } from '../log.js';
import { classifyAttemptError } from './classify.js';
import { errorBodyFetch } from './error-fetch.js';
import { AttemptFailed, type AttemptFailure, type ErrorContext } from './errors.js';
import { DEFAULT_RETRY_AFTER_CAP_MS, withRetries, type RetryPolicy } from './retry.js';
import { parseChunk, StreamAccumulator } from './stream.js';
import type { ChatModel, ChatRequest, ChatResponse } from './types.js';
import { buildParams, finishReply, parseCompletion } from './wire.js';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';

/** How to reach a model on an OpenAI-compatible server; shared by the chat and embeddings clients. */
export interface ModelServerOptions {
  model: string;
  baseURL?: string;
  /** Optional: local servers need none. */
  apiKey?: string;
  /** Per attempt; for streams also the longest silence allowed between chunks. */
  timeoutMs: number;
  /** Retries after the first attempt. */
  maxRetries: number;
  log: Logger;
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
}

export interface OpenAiChatModelOptions extends ModelServerOptions {
  /** Longest server retry-after hint we wait for; longer ones fail at once (default 60 s). */
  retryAfterCapMs?: number;
}

/** The SDK refuses to start without a key; servers that need none ignore whatever is sent. */
export const PLACEHOLDER_API_KEY = 'no-key';

/**
 * One attempt's abort signal: fires on the caller's abort or when the deadline passes; streams
 * push the deadline back on every chunk. The caller's signal is linked by hand (not
 * AbortSignal.any) so a long-lived signal does not collect a listener per attempt.
 */
class AttemptSignal {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private readonly onCallerAbort = (): void => {
    this.controller.abort(this.caller?.reason);
  };
  timedOut = false;

  constructor(
    private readonly ms: number,
    private readonly caller: AbortSignal | undefined,
  ) {
    caller?.addEventListener('abort', this.onCallerAbort, { once: true });
    this.touch();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new DOMException('The model server did not answer in time', 'TimeoutError'));
    }, this.ms);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onCallerAbort);
  }
}

/** Marks an exception thrown by the caller's onTextDelta, which must reach the caller as is. */
class CallbackError extends Error {
  constructor(readonly original: unknown) {
    super('onTextDelta threw');
  }
}

interface CallState {
  malformedRetried: boolean;
}

export class OpenAiChatModel implements ChatModel {
  readonly model: string;
  private readonly sdk: OpenAI;
  private readonly timeoutMs: number;
  private readonly log: Logger;
  private readonly policy: RetryPolicy;
  private readonly ctx: ErrorContext;
  private readonly secrets: readonly string[];

  constructor(options: OpenAiChatModelOptions) {
    this.model = options.model;
    this.timeoutMs = options.timeoutMs;
    this.log = options.log;
    this.secrets = options.apiKey ? [options.apiKey] : [];
    this.sdk = new OpenAI({
      apiKey: options.apiKey || PLACEHOLDER_API_KEY,
      ...(options.baseURL !== undefined ? { baseURL: options.baseURL } : {}),
      maxRetries: 0,
      // The SDK would write to the console; failures reach our own log through LlmError instead.
      logLevel: 'off',
      // A backstop only: our own timer (same length) normally fires first and is what we report.
      timeout: Math.ceil(options.timeoutMs) + 1000,
      // Every server's error body in the one shape the SDK reads, so its words are not lost.
      fetch: errorBodyFetch({ secrets: this.secrets }),
    });
    this.policy = {
      maxRetries: options.maxRetries,
      baseDelayMs: options.retryBaseDelayMs ?? 500,
      maxDelayMs: options.retryMaxDelayMs ?? 8000,
      retryAfterCapMs: options.retryAfterCapMs ?? DEFAULT_RETRY_AFTER_CAP_MS,
    };
    this.ctx = { baseURL: this.sdk.baseURL, model: options.model, timeoutMs: options.timeoutMs };
  }

  /**
   * Set once a streamed reply of this model began inside a `<think>` its template opened (a lone
   * `</think>`: DeepSeek-R1's and Qwen3.5-style templates, notes §3). Later streams then hold text
   * back until the closing tag, so the thoughts are not streamed as the answer again.
   */
  private templateOpensReasoning = false;

  async chat(request: ChatRequest): Promise<ChatResponse> {
    const params = buildParams(this.model, request, { baseURL: this.sdk.baseURL });
    const state: CallState = { malformedRetried: false };
    const started = Date.now();
    const response = await withRetries((attempt) => this.attempt(params, request, state, attempt), {
      policy: this.policy,
      ...(request.signal ? { signal: request.signal } : {}),
      log: this.log,
      ctx: this.ctx,
    });
    this.log.debug(
      { model: response.model, ms: Date.now() - started, usage: response.usage, finishReason: response.finishReason },
      'model reply',
    );
    return response;
  }

  private async attempt(
    params: ChatCompletionCreateParamsNonStreaming,
    request: ChatRequest,
    state: CallState,
    attempt: number,
  ): Promise<ChatResponse> {
    if (request.signal?.aborted) throw new AttemptFailed({ kind: 'aborted', retryable: false });
    const attemptSignal = new AttemptSignal(this.timeoutMs, request.signal);
    const accumulator = new StreamAccumulator({ opened: this.templateOpensReasoning });
    try {
      this.log.debug({ model: this.model, attempt, stream: request.onTextDelta !== undefined }, 'model request');
      const response = request.onTextDelta
        ? await this.streamOnce(params, request, request.onTextDelta, attemptSignal, accumulator)
        : await this.completeOnce(params, request, attemptSignal.signal);
      return response;
    } catch (err) {
      if (err instanceof CallbackError) throw err.original;
      const failure = classifyAttemptError(err, {
        callerAborted: request.signal?.aborted === true,
        timedOut: attemptSignal.timedOut,
        partial: accumulator.deliveredText,
        secrets: this.secrets,
      });
      throw new AttemptFailed(this.limitMalformedRetries(failure, state), err);
    } finally {
      attemptSignal.dispose();
    }
  }

  /** A garbled body is usually a one-off (proxy, overloaded server): worth exactly one retry. */
  private limitMalformedRetries(failure: AttemptFailure, state: CallState): AttemptFailure {
    if (failure.kind !== 'malformed_output' || !failure.retryable) return failure;
    if (state.malformedRetried) return { ...failure, retryable: false };
    state.malformedRetried = true;
    return failure;
  }

  private async completeOnce(
    params: ChatCompletionCreateParamsNonStreaming,
    request: ChatRequest,
    signal: AbortSignal,
  ): Promise<ChatResponse> {
    const body: unknown = await this.sdk.chat.completions.create(params, { signal });
    const parsed = parseCompletion(body, request, this.model);
    if (!parsed.ok) throw new AttemptFailed({ kind: 'malformed_output', retryable: true, detail: parsed.issue });
    return parsed.response;
  }

  private async streamOnce(
    params: ChatCompletionCreateParamsNonStreaming,
    request: ChatRequest,
    onTextDelta: (text: string) => void,
    attemptSignal: AttemptSignal,
    accumulator: StreamAccumulator,
  ): Promise<ChatResponse> {
    const { signal } = attemptSignal;
    const stream = await this.sdk.chat.completions.create(
      { ...params, stream: true, stream_options: { include_usage: true } },
      { signal },
    );
    attemptSignal.touch(); // headers are a sign of life; from here the deadline is per chunk
    for await (const value of stream as AsyncIterable<unknown>) {
      attemptSignal.touch();
      const parsed = parseChunk(value);
      if (!parsed.ok) throw new AttemptFailed({ kind: 'malformed_output', retryable: true, detail: parsed.issue });
      this.passOn(accumulator.add(parsed.chunk), onTextDelta);
    }
    // The SDK ends an aborted stream quietly instead of throwing, so check why it ended.
    if (signal.aborted) throw new Error('stream aborted');
    if (!accumulator.finished) {
      throw new AttemptFailed({
        kind: 'connection',
        retryable: true,
        detail: 'the stream ended before the reply was complete',
      });
    }
    this.passOn(accumulator.flushText(), onTextDelta);
    if (accumulator.openedByTemplate) this.templateOpensReasoning = true;
    return finishReply(accumulator.reply(), request, this.model);
  }

  /** Hands answer text to the caller; what its callback throws reaches the caller as is. */
  private passOn(text: string, onTextDelta: (text: string) => void): void {
    if (text === '') return;
    try {
      onTextDelta(text);
    } catch (err) {
      throw new CallbackError(err);
    }
  }
}
