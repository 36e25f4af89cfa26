/** Shared setup for LLM client tests: a client pointed at the fake server, and a log capture. */
import { createLogger, silentLogger, type Logger } from '../../src/log.js';
import { OpenAiChatModel, type OpenAiChatModelOptions } from '../../src/llm/client.js';
import { LlmError } from '../../src/llm/errors.js';
import type { FakeOpenAi } from '../fakes/openai-server.js';

export function modelFor(fake: FakeOpenAi, options: Partial<OpenAiChatModelOptions> = {}): OpenAiChatModel {
  return new OpenAiChatModel({
    model: 'fake-model',
    baseURL: fake.baseURL,
    timeoutMs: 2000,
    maxRetries: 2,
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 20,
    log: silentLogger(),
    ...options,
  });
}

/** A real pino logger whose JSON lines are kept for assertions. */
export function captureLogger(): { log: Logger; lines: () => Record<string, unknown>[]; raw: () => string } {
  const written: string[] = [];
  const log = createLogger({
    level: 'debug',
    pretty: false,
    destination: {
      write(line: string) {
        written.push(line);
      },
    },
  });
  return {
    log,
    lines: () => written.map((line) => JSON.parse(line) as Record<string, unknown>),
    raw: () => written.join(''),
  };
}

/** The LlmError a call fails with; throws if it succeeds or fails with something else. */
export async function failure(promise: Promise<unknown>): Promise<LlmError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof LlmError)) throw new Error(`expected an LlmError, got ${String(err)}`);
  return err;
}
