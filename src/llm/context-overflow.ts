/**
 * Recognises a server refusing a prompt as too long for the model's window, from the server's own
 * words (`LlmError.detail`) and body fields, and reads the window size out of them when it is
 * given. Wordings: ../shared/notes/model-servers.md §5 "Overflow behaviour" and §9.
 */
import { LlmError } from './errors.js';

/** Notes §9's loose match, plus Ollama's refusal when context shift is off. */
const OVERFLOW =
  /maximum context length|context length is only|exceeds the available context size|exceed_context_size_error|context_length_exceeded|longer than the model's context length|longer than the context length|Trying to keep the first|n_keep .* >= n_ctx/i;

/**
 * Where each server states the window (the number is the whole window, prompt and reply):
 * - llama.cpp: `request (9412 tokens) exceeds the available context size (8192 tokens)`;
 * - vLLM (current `renderers/params.py`): `However, the model's context length is only N tokens`;
 * - OpenAI, vLLM (older), OpenRouter: `maximum context length is N tokens`; SGLang:
 *   `maximum context length of C tokens` or `longer than the model's context length (C tokens)`;
 * - LM Studio: `loaded with context length of only M tokens`; newer builds `n_keep (…) >= n_ctx (M)`.
 */
const LIMITS: readonly RegExp[] = [
  /available context size \((\d[\d,]*) tokens\)/i,
  /context length is only (\d[\d,]*) tokens/i,
  /maximum context length (?:is|of) (\d[\d,]*) tokens/i,
  /model's context length \((\d[\d,]*) tokens\)/i,
  /loaded with context length of only (\d[\d,]*) tokens/i,
  />= n_ctx \((\d[\d,]*)\)/i,
];

export interface ContextOverflow {
  /** The server's words. */
  words: string;
  /** The window the server stated, when it stated one (Ollama's refusal names none). */
  limit: number | null;
  /** How many tokens the refused request had, when the server says (to learn by how much it was over). */
  requested: number | null;
}

/**
 * Where servers state the refused request's size: llama.cpp `request (9412 tokens) exceeds…`,
 * OpenAI `you requested 4120 tokens`, OpenRouter `you requested about 141607 tokens`, vLLM `your
 * request has T input tokens` / `You passed T input tokens`, SGLang `The input (N tokens)` / `You
 * requested a total of N tokens`, LM Studio `keep the first N tokens` / `n_keep (N)`.
 */
const REQUESTED: readonly RegExp[] = [
  /request \((\d[\d,]*) tokens\)/i,
  /you requested (?:about )?(\d[\d,]*) tokens/i,
  /request has (\d[\d,]*) input tokens/i,
  /You passed (\d[\d,]*) input tokens/i,
  /The input \((\d[\d,]*) tokens\)/i,
  /requested a total of (\d[\d,]*) tokens/i,
  /keep the first (\d[\d,]*) tokens/i,
  /n_keep \((\d[\d,]*)\)/i,
];

/** The overflow `err` reports, or null when it is some other failure. */
export function contextOverflow(err: unknown): ContextOverflow | null {
  if (!(err instanceof LlmError)) return null;
  if (err.kind !== 'bad_request' && err.kind !== 'server_error') return null;
  const words = err.detail ?? '';
  // OpenAI's code and llama.cpp's type say it even if a proxy rewrote the message.
  const flagged = err.serverCode === 'context_length_exceeded' || err.serverType === 'exceed_context_size_error';
  if (!flagged && !OVERFLOW.test(words)) return null;
  return { words, limit: statedLimit(words), requested: firstNumber(words, REQUESTED) };
}

export function statedLimit(words: string): number | null {
  return firstNumber(words, LIMITS);
}

function firstNumber(words: string, patterns: readonly RegExp[]): number | null {
  for (const pattern of patterns) {
    const digits = pattern.exec(words)?.[1];
    if (digits !== undefined) {
      const limit = Number(digits.replaceAll(',', ''));
      if (Number.isSafeInteger(limit) && limit > 0) return limit;
    }
  }
  return null;
}
