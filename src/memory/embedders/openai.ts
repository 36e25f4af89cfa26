/**
 * Embeddings from any OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp) through the
 * official SDK, with the LLM client's retry loop and error classification. The dimension is
 * learnt from a probe call and then held: a server that changes it mid-way is refused.
 */
import OpenAI from 'openai';
import { z } from 'zod';
import { classifyAttemptError } from '../../llm/classify.js';
import { errorBodyFetch } from '../../llm/error-fetch.js';
import { AttemptFailed, LlmError, safeUrl, type ErrorContext } from '../../llm/errors.js';
import { DEFAULT_RETRY_AFTER_CAP_MS, withRetries, type RetryPolicy } from '../../llm/retry.js';
import { PLACEHOLDER_API_KEY, type ModelServerOptions } from '../../llm/client.js';
import type { Embedder } from './types.js';

export interface OpenAiEmbedderOptions extends ModelServerOptions {
  /** Inputs per request (default 256). */
  batchSize?: number;
}
/** Far past any embedding model's context (8k tokens ≈ 30k characters): longer inputs are cut, not refused. */
const MAX_INPUT_CHARS = 30_000;
const UNKNOWN_MODEL = /model.*(not found|does not exist|not exist|unknown|no such|not available)|(unknown|invalid) model/i;

// Floats are asked for explicitly: some compatible servers ignore a base64 request, which the SDK
// would then mis-decode. A base64 string is still accepted in case a server sends one anyway.
const EmbeddingsResponse = z.looseObject({
  data: z.array(z.looseObject({ index: z.number().int().nonnegative(), embedding: z.union([z.array(z.number()), z.string()]) })),
});

export class OpenAiEmbedder implements Embedder {
  readonly id: string;
  private dims: number | undefined;
  private readonly sdk: OpenAI;
  private readonly policy: RetryPolicy;
  private readonly ctx: ErrorContext;
  private readonly secrets: readonly string[];
  private readonly batchSize: number;

  constructor(private readonly options: OpenAiEmbedderOptions) {
    this.id = `openai:${options.model}`;
    this.batchSize = options.batchSize ?? 256;
    this.secrets = options.apiKey ? [options.apiKey] : [];
    this.sdk = new OpenAI({
      apiKey: options.apiKey || PLACEHOLDER_API_KEY,
      ...(options.baseURL !== undefined ? { baseURL: options.baseURL } : {}),
      maxRetries: 0,
      logLevel: 'off',
      timeout: Math.ceil(options.timeoutMs),
      // Keeps the server's words for every error body shape (see error-fetch.ts).
      fetch: errorBodyFetch({ secrets: this.secrets }),
    });
    this.policy = {
      maxRetries: options.maxRetries,
      baseDelayMs: options.retryBaseDelayMs ?? 500,
      maxDelayMs: options.retryMaxDelayMs ?? 8000,
      retryAfterCapMs: DEFAULT_RETRY_AFTER_CAP_MS,
    };
    this.ctx = { baseURL: this.sdk.baseURL, model: options.model, timeoutMs: options.timeoutMs };
  }

  /** Known after `probe()` (or the first embed); reading it earlier is a programming error. */
  get dimensions(): number {
    if (this.dims === undefined) throw new Error('the embedding dimension is not known yet: call probe() first');
    return this.dims;
  }

  /** One small request to learn the model's dimension and surface configuration errors at start-up. */
  async probe(signal?: AbortSignal): Promise<number> {
    await this.embed(['dimension probe'], signal ? { signal } : undefined);
    return this.dimensions;
  }

  async embed(texts: readonly string[], options?: { signal?: AbortSignal; purpose?: 'query' | 'document' }): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += this.batchSize) {
      const batch = texts.slice(start, start + this.batchSize);
      out.push(...(await this.embedBatch(batch, options?.signal)));
    }
    return out;
  }

  private async embedBatch(texts: readonly string[], signal: AbortSignal | undefined): Promise<Float32Array[]> {
    // Empty strings are refused by OpenAI; a space embeds as "nothing" everywhere.
    const input = texts.map((t) => (t === '' ? ' ' : t.slice(0, MAX_INPUT_CHARS)));
    const body = await withRetries(
      async () => {
        if (signal?.aborted) throw new AttemptFailed({ kind: 'aborted', retryable: false });
        try {
          const response: unknown = await this.sdk.embeddings.create(
            { model: this.options.model, input, encoding_format: 'float' },
            signal ? { signal } : undefined,
          );
          return response;
        } catch (err) {
          const failure = classifyAttemptError(err, {
            callerAborted: signal?.aborted === true,
            timedOut: false,
            partial: false,
            secrets: this.secrets,
          });
          // Several servers answer an unknown model with 400 rather than 404.
          const unknownModel = failure.kind === 'bad_request' && UNKNOWN_MODEL.test(failure.detail ?? '');
          throw new AttemptFailed(unknownModel ? { ...failure, kind: 'not_found' } : failure, err);
        }
      },
      { policy: this.policy, ...(signal ? { signal } : {}), log: this.options.log, ctx: this.ctx },
    ).catch((err: unknown) => {
      throw this.explain(err);
    });
    return this.parse(body, texts.length);
  }

  private parse(body: unknown, expected: number): Float32Array[] {
    const parsed = EmbeddingsResponse.safeParse(body);
    if (!parsed.success) throw this.malformed(`not an embeddings list: ${z.prettifyError(parsed.error)}`);
    const rows = [...parsed.data.data].sort((a, b) => a.index - b.index);
    if (rows.length !== expected || rows.some((r, i) => r.index !== i)) {
      throw this.malformed(`expected ${expected} embeddings, got ${rows.length}`);
    }
    return rows.map((row) => {
      const vector = typeof row.embedding === 'string' ? decodeBase64(row.embedding) : Float32Array.from(row.embedding);
      if (this.dims === undefined) {
        if (vector.length === 0) throw this.malformed('an embedding is empty');
        this.dims = vector.length;
        this.options.log.info({ model: this.options.model, dimensions: vector.length }, 'embedding dimension discovered');
      } else if (vector.length !== this.dims) {
        throw new Error(
          `Embeddings model "${this.options.model}" returned ${vector.length} dimensions after ${this.dims}: ` +
            'the server changed models. Stored memories need one dimension; check CAIRN_EMBEDDINGS and OPENAI_BASE_URL.',
        );
      }
      return normalise(vector);
    });
  }

  private malformed(detail: string): LlmError {
    return new LlmError('malformed_output', `The embeddings server at ${safeUrl(this.ctx.baseURL)} sent a bad reply: ${detail}.`, {
      attempts: 1,
    });
  }

  /** The chat client's messages name CAIRN_MODEL; embedding failures must point at CAIRN_EMBEDDINGS. */
  private explain(err: unknown): unknown {
    if (!(err instanceof LlmError)) return err;
    const url = safeUrl(this.ctx.baseURL);
    const model = this.options.model;
    const options = {
      attempts: err.attempts,
      cause: err,
      ...(err.status !== undefined ? { status: err.status } : {}),
      ...(err.detail !== undefined ? { detail: err.detail } : {}),
    };
    if (err.kind === 'not_found') {
      // The server's words often say what to do (Ollama: `model "x" not found, try pulling it first`).
      const said = err.detail ? ` The server said: ${err.detail.replace(/(?<![.…])\.$/, '')}.` : '';
      return new LlmError(
        err.kind,
        `Embeddings model "${model}" is not available at ${url}${err.status !== undefined ? ` (${err.status})` : ''}. ` +
          `Check CAIRN_EMBEDDINGS (an embeddings model id the server serves, or "local" for the built-in offline embedder) and OPENAI_BASE_URL.${said}`,
        options,
      );
    }
    if (err.kind === 'auth') {
      return new LlmError(err.kind, `${err.message} (needed for CAIRN_EMBEDDINGS="${model}"; "local" needs no key)`, options);
    }
    return err;
  }
}

function decodeBase64(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  const out = new Float32Array(Math.floor(bytes.length / 4));
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

/** Servers other than OpenAI's do not all normalise; the contract promises unit vectors. */
function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s);
  if (n === 0 || !Number.isFinite(n)) return v;
  for (let i = 0; i < v.length; i++) v[i] = (v[i] ?? 0) / n;
  return v;
}
