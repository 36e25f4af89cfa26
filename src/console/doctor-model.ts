/**
 * `cairn doctor`'s model-server checks: reachable and the model listed (GET /models), native tool
 * calls (one tiny chat with one tool), JSON output (one tiny structured call) and embeddings. Each
 * call goes through the same clients runs use, with no retries and a short deadline, so a refusal
 * is reported in the server's own words at once.
 */
import OpenAI from 'openai';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { toolsRefusal } from '../llm/adaptive-tools.js';
import { resolveContextWindow } from '../llm/context-window.js';
import { classifyAttemptError } from '../llm/classify.js';
import { OpenAiChatModel, PLACEHOLDER_API_KEY } from '../llm/client.js';
import { errorBodyFetch } from '../llm/error-fetch.js';
import { LlmError, safeUrl } from '../llm/errors.js';
import { chatStructured, structuredLevelOf } from '../llm/structured.js';
import { loadLocalEmbedder, OpenAiEmbedder } from '../memory/embedders/index.js';
import { errorMessage, oneLine } from '../text.js';
import { bounded, type CheckResult } from './doctor-report.js';

/** GET /models and embeddings: a local server answers in milliseconds. */
const LIST_TIMEOUT_MS = 5_000;
/** A tiny generation; a CPU-only server can need a few seconds even warm. */
const CHAT_TIMEOUT_MS = 10_000;
const EMBED_TIMEOUT_MS = 6_000;
/** resolveContextWindow bounds each of its probes by 2 s and runs them side by side. */
const CONTEXT_TIMEOUT_MS = 5_000;
/** Below this, a run's tools, memories and steps soon fill the window (Ollama's usual 4,096 does). */
const SMALL_CONTEXT_TOKENS = 8_192;
const MAX_LISTED_SHOWN = 5;

const ModelList = z.looseObject({ data: z.array(z.looseObject({ id: z.string() })) });

const PING_TOOL = {
  name: 'ping',
  description: 'Answers pong. Call it to show that tool calling works.',
  parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
};

const START_SERVER_FIX =
  'Start the model server, or set OPENAI_BASE_URL to where it listens (Ollama: http://localhost:11434/v1, llama.cpp: http://localhost:8080/v1).';

function serverUrl(config: Config): string {
  return safeUrl(config.llm.baseURL ?? 'https://api.openai.com/v1');
}

function chatModel(config: Config, log: Logger): OpenAiChatModel {
  return new OpenAiChatModel({
    model: config.llm.model,
    ...(config.llm.baseURL === undefined ? {} : { baseURL: config.llm.baseURL }),
    ...(config.llm.apiKey === undefined ? {} : { apiKey: config.llm.apiKey }),
    // Past the check's own deadline: `bounded` reports the timeout, not the client.
    timeoutMs: CHAT_TIMEOUT_MS + 1_000,
    // A doctor reports the first answer; retries would only make a broken setup slow to diagnose.
    maxRetries: 0,
    log,
  });
}

/** The model server's rows. Tool and JSON probes run only once the server answers, side by side. */
export async function modelServerChecks(config: Config, log: Logger): Promise<CheckResult[]> {
  const { rows, reachable } = await listModels(config);
  if (!reachable) {
    const why = 'skipped: the model server did not answer';
    // The same rows every time, so --json readers find each check by name.
    return [...rows, ...['model listed', 'native tool calls', 'JSON output'].map((name): CheckResult => ({ name, status: 'skip', detail: why }))];
  }
  const chat = chatModel(config, log);
  const probes = await Promise.all([
    bounded({ name: 'native tool calls', timeoutMs: CHAT_TIMEOUT_MS, onTimeout: 'warn', timeoutFix: slowFix() }, (signal) => toolProbe(config, chat, signal)),
    bounded({ name: 'JSON output', timeoutMs: CHAT_TIMEOUT_MS, onTimeout: 'warn', timeoutFix: slowFix() }, (signal) => jsonProbe(chat, signal)),
  ]);
  return [...rows, ...probes.flat()];
}

function slowFix(): string {
  return 'The model may still be loading (run cairn doctor again), or it is too slow for this machine; try a smaller model.';
}

async function listModels(config: Config): Promise<{ rows: CheckResult[]; reachable: boolean }> {
  let reachable = false;
  const rows = await bounded(
    { name: 'model server', timeoutMs: LIST_TIMEOUT_MS, onTimeout: 'fail', timeoutFix: `${serverUrl(config)} accepted the connection but did not answer. ${START_SERVER_FIX}` },
    async (signal) => {
      const result = await fetchModelIds(config, signal);
      reachable = result.reachable;
      return result.rows;
    },
  );
  return { rows, reachable };
}

async function fetchModelIds(config: Config, signal: AbortSignal): Promise<{ rows: CheckResult[]; reachable: boolean }> {
  const secrets = config.llm.apiKey === undefined ? [] : [config.llm.apiKey];
  const sdk = new OpenAI({
    apiKey: config.llm.apiKey ?? PLACEHOLDER_API_KEY,
    ...(config.llm.baseURL === undefined ? {} : { baseURL: config.llm.baseURL }),
    maxRetries: 0,
    logLevel: 'off',
    timeout: LIST_TIMEOUT_MS + 1_000,
    fetch: errorBodyFetch({ secrets }),
  });
  const url = serverUrl(config);
  const started = Date.now();
  let body: unknown;
  try {
    body = await sdk.get('/models', { signal });
  } catch (err) {
    const failure = classifyAttemptError(err, { callerAborted: false, timedOut: signal.aborted, partial: false, secrets });
    const said = failure.detail === undefined ? '' : `: ${oneLine(failure.detail, 200)}`;
    if (failure.kind === 'connection' || failure.kind === 'timeout') {
      return { reachable: false, rows: [{ name: 'model server', status: 'fail', detail: `cannot reach ${url}${said}`, fix: START_SERVER_FIX }] };
    }
    if (failure.kind === 'auth') {
      const fix = config.llm.apiKey === undefined ? 'Set OPENAI_API_KEY: this server wants a key.' : 'Set OPENAI_API_KEY to a key this server accepts (the current one is refused).';
      return { reachable: false, rows: [{ name: 'model server', status: 'fail', detail: `${url} refused the API key (${failure.status ?? 'auth'})${said}`, fix }] };
    }
    // Some servers and proxies have no /models; the chat probes below still tell whether it works.
    return {
      reachable: true,
      rows: [
        { name: 'model server', status: 'warn', detail: `${url} answers, but GET /models failed (${failure.status ?? failure.kind})${said}`, fix: 'The model list is not needed to run; the chat checks below say whether the model works.' },
        { name: 'model listed', status: 'skip', detail: 'the server does not list its models' },
      ],
    };
  }
  const ms = Date.now() - started;
  const parsed = ModelList.safeParse(body);
  const ids = parsed.success ? parsed.data.data.map((m) => m.id) : [];
  const server: CheckResult = { name: 'model server', status: 'ok', detail: `${url} answered GET /models in ${ms} ms (${ids.length} model${ids.length === 1 ? '' : 's'})` };
  return { reachable: true, rows: [server, listedRow(config.llm.model, ids)] };
}

function listedRow(model: string, ids: readonly string[]): CheckResult {
  // Ollama lists `llama3.2:latest` for a model pulled and configured as `llama3.2`.
  if (ids.includes(model) || ids.includes(`${model}:latest`)) return { name: 'model listed', status: 'ok', detail: `CAIRN_MODEL "${model}" is served` };
  const shown = ids.slice(0, MAX_LISTED_SHOWN).join(', ') + (ids.length > MAX_LISTED_SHOWN ? ', …' : '');
  return {
    name: 'model listed',
    status: 'warn',
    detail: `the server does not list CAIRN_MODEL "${model}"${ids.length === 0 ? '' : ` (it lists ${shown})`}`,
    fix: 'Set CAIRN_MODEL to a listed id, or load the model (Ollama: ollama pull <model>). Some servers serve models they do not list: the chat checks below tell.',
  };
}

async function toolProbe(config: Config, chat: OpenAiChatModel, signal: AbortSignal): Promise<CheckResult[]> {
  const name = 'native tool calls';
  const setting = config.llm.toolCalling;
  if (setting === 'prompt') return [{ name, status: 'skip', detail: 'CAIRN_TOOL_CALLING=prompt: tools are described in the prompt, native tool calls are not used' }];
  try {
    const reply = await chat.chat({
      messages: [
        { role: 'system', content: 'This is a connectivity check. Call the tool you are given; do not answer in text.' },
        { role: 'user', content: 'Call the ping tool with text "pong".' },
      ],
      tools: [PING_TOOL],
      temperature: 0,
      maxOutputTokens: 256,
      signal,
    });
    if (reply.toolCalls.length > 0) return [{ name, status: 'ok', detail: `the model called the tool (CAIRN_TOOL_CALLING=${setting})` }];
    return [
      {
        name,
        status: 'warn',
        detail: 'the server accepts tools, but the model answered in text instead of calling the tool',
        fix: 'Use a model trained for tool calling, or set CAIRN_TOOL_CALLING=prompt to describe tools in the prompt.',
      },
    ];
  } catch (err) {
    const words = toolsRefusal(err);
    if (words === null) return [{ name, status: 'fail', detail: oneLine(errorMessage(err), 400), fix: 'See the model server check; CAIRN_MODEL must be a chat model the server serves.' }];
    const said = `the server refused tools: "${oneLine(words, 200)}"`;
    if (setting === 'auto') {
      return [{ name, status: 'warn', detail: said, fix: 'Nothing required: prompt mode will be used (CAIRN_TOOL_CALLING=auto). For native tool calls, use a model or server with tool calling enabled.' }];
    }
    return [
      {
        name,
        status: 'fail',
        detail: `${said}, and CAIRN_TOOL_CALLING=native`,
        fix: 'Set CAIRN_TOOL_CALLING=auto (or prompt), or enable tool calling on the server (vLLM: --enable-auto-tool-choice --tool-call-parser …; llama.cpp: --jinja).',
      },
    ];
  }
}

async function jsonProbe(chat: OpenAiChatModel, signal: AbortSignal): Promise<CheckResult[]> {
  const name = 'JSON output';
  try {
    await chatStructured(chat, {
      messages: [{ role: 'user', content: 'This is a connectivity check. Reply with the JSON {"ok": true}.' }],
      schema: z.object({ ok: z.boolean() }),
      name: 'doctor_check',
      signal,
    });
  } catch (err) {
    if (err instanceof LlmError && err.kind === 'malformed_output') {
      return [{ name, status: 'warn', detail: oneLine(err.message, 400), fix: 'Plans and answer checks need JSON: use a model that follows instructions better.' }];
    }
    return [{ name, status: 'fail', detail: oneLine(errorMessage(err), 400), fix: 'See the model server check; CAIRN_MODEL must be a chat model the server serves.' }];
  }
  const level = structuredLevelOf(chat);
  if (level === 'json_schema') return [{ name, status: 'ok', detail: 'structured output with response_format json_schema' }];
  return [
    {
      name,
      status: 'warn',
      detail: `the server refused json_schema; ${level === 'json_object' ? 'json_object with the schema in the prompt' : 'the schema in the prompt alone'} works (degraded structured output)`,
      fix: 'Nothing required; replies may need a corrective retry more often. A server with json_schema support (vLLM, llama.cpp, Ollama, LM Studio) is more reliable.',
    },
  ];
}

/** The context window runs are fitted to, and where the number came from (src/llm/context-window.ts). */
export function contextWindowCheck(config: Config, log: Logger): Promise<CheckResult[]> {
  const name = 'context length';
  return bounded({ name, timeoutMs: CONTEXT_TIMEOUT_MS, onTimeout: 'warn', timeoutFix: 'Set CAIRN_CONTEXT_TOKENS to the model\'s context window.' }, async () => {
    const { tokens, source } = await resolveContextWindow({
      model: config.llm.model,
      baseURL: config.llm.baseURL,
      apiKey: config.llm.apiKey,
      configured: config.llm.contextTokens,
      log,
    });
    const detail = `${tokens.toLocaleString('en-US')} tokens (from ${source})`;
    if (source === 'default') {
      return [{ name, status: 'warn', detail: `${detail}: the server does not say, so a default is assumed`, fix: 'Set CAIRN_CONTEXT_TOKENS to the model\'s context window.' }];
    }
    if (tokens < SMALL_CONTEXT_TOKENS) {
      const ollama = source.startsWith('ollama') ? ' (Ollama: set OLLAMA_CONTEXT_LENGTH on the server, or PARAMETER num_ctx in a Modelfile)' : '';
      return [{ name, status: 'warn', detail: `${detail}: small, long runs will be trimmed`, fix: `Give the model a larger context window${ollama}, then set CAIRN_CONTEXT_TOKENS or run cairn doctor again.` }];
    }
    return [{ name, status: 'ok', detail }];
  });
}

/** The embedder the memory uses: the built-in one loads; a served one answers one tiny request. */
export function embeddingsCheck(config: Config, log: Logger): Promise<CheckResult[]> {
  const name = 'embeddings';
  const spec = config.embeddings.trim();
  return bounded({ name, timeoutMs: EMBED_TIMEOUT_MS, onTimeout: 'fail', timeoutFix: 'Check the embeddings server, or set CAIRN_EMBEDDINGS=local.' }, async (signal) => {
    if (spec.toLowerCase() === 'local') {
      const embedder = await loadLocalEmbedder();
      return [{ name, status: 'ok', detail: `built-in ${embedder.id} embedder loads (${embedder.dimensions} dimensions)` }];
    }
    const embedder = new OpenAiEmbedder({
      model: spec,
      ...(config.llm.baseURL === undefined ? {} : { baseURL: config.llm.baseURL }),
      ...(config.llm.apiKey === undefined ? {} : { apiKey: config.llm.apiKey }),
      timeoutMs: EMBED_TIMEOUT_MS + 1_000,
      maxRetries: 0,
      log,
    });
    try {
      const dimensions = await embedder.probe(signal);
      return [{ name, status: 'ok', detail: `"${spec}" at ${serverUrl(config)} answers (${dimensions} dimensions)` }];
    } catch (err) {
      return [{ name, status: 'fail', detail: oneLine(errorMessage(err), 400), fix: 'Set CAIRN_EMBEDDINGS to an embeddings model the server serves, or to local (built in, offline).' }];
    }
  });
}
