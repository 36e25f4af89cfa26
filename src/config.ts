/**
 * The environment parsed into a Config (its schema: src/config-env.ts). Every problem is reported
 * at once, by variable name, with what was wrong and how to fix it — never as a stack trace.
 */
import path from 'node:path';
import { z } from 'zod';
import { envSchema, SECRET_VARIABLES, type Env } from './config-env.js';
import type { Config } from './config-shape.js';
import { DISCORD_CDN_ORIGINS } from './files/origins.js';
import { indexCacheMbFor } from './memory/cache-sizes.js';
import { mcpSecretValues } from './tools/mcp/config.js';

export type { Config } from './config-shape.js';

/** What a command needs beyond the always-valid defaults ('memory': a reachable embedder). */
export type Requirement = 'llm' | 'discord' | 'memory';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Cairn's configuration has ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}:\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nSet these in your environment or in a .env file (see .env.example).',
    );
    this.name = 'ConfigError';
  }
}

/** Blank values (`DISCORD_TOKEN=` in a .env file) mean "not set", not "set to empty". */
function withoutBlanks(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') out[key] = value.trim();
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue, raw: Record<string, string>): string {
  const name = String(issue.path[0] ?? 'environment');
  const value = raw[name];
  const shown = value === undefined || SECRET_VARIABLES.has(name) ? '' : ` (got "${value}")`;
  return `${name}: ${issue.message}${shown}`;
}

function checkRequirements(env: Env, needs: readonly Requirement[]): string[] {
  const problems: string[] = [];
  if (needs.includes('discord') && env.DISCORD_TOKEN === undefined) {
    problems.push(
      'DISCORD_TOKEN: required to run the bot. Create a bot at https://discord.com/developers/applications and copy its token.',
    );
  }
  if (needs.includes('llm') && env.OPENAI_API_KEY === undefined && env.OPENAI_BASE_URL === undefined) {
    problems.push(
      "OPENAI_API_KEY: required for OpenAI's API. Or set OPENAI_BASE_URL to a local OpenAI-compatible server (e.g. http://localhost:11434/v1 for Ollama), which needs no key.",
    );
  }
  if (needs.includes('memory') && !needs.includes('llm') && env.CAIRN_EMBEDDINGS !== 'local' && env.OPENAI_API_KEY === undefined && env.OPENAI_BASE_URL === undefined) {
    problems.push(
      `CAIRN_EMBEDDINGS: "${env.CAIRN_EMBEDDINGS}" is served by a model server, but neither OPENAI_API_KEY nor OPENAI_BASE_URL is set. Set one, or use CAIRN_EMBEDDINGS=local.`,
    );
  }
  return problems;
}

function resolveDataDir(value: string, cwd: string): string {
  // Remote URIs (s3://, gs://, az://) go to LanceDB as they are; local paths become absolute.
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : path.resolve(cwd, value);
}

/** Parses the environment; throws ConfigError listing every problem. */
export function loadConfig(
  env: NodeJS.ProcessEnv,
  needs: readonly Requirement[] = [],
  cwd: string = process.cwd(),
): Config {
  const raw = withoutBlanks(env);
  const parsed = envSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((issue) => describeIssue(issue, raw)));
  const e = parsed.data;
  const missing = checkRequirements(e, needs);
  if (missing.length > 0) throw new ConfigError(missing);
  return {
    recallRewrite: { enabled: e.CAIRN_RECALL_REWRITE === 'on', timeoutMs: e.CAIRN_RECALL_REWRITE_TIMEOUT_S * 1000 },
    discord: {
      token: e.DISCORD_TOKEN,
      restUrl: e.DISCORD_REST_URL,
      guildId: e.DISCORD_GUILD_ID,
      allowedUsers: e.CAIRN_ALLOWED_USERS,
      allowedRoles: e.CAIRN_ALLOWED_ROLES,
      allowedChannels: e.CAIRN_ALLOWED_CHANNELS,
      adminRoles: e.CAIRN_ADMIN_ROLES,
      runsPerMinute: e.CAIRN_RUNS_PER_MINUTE,
      commandsPerMinute: e.CAIRN_COMMANDS_PER_MINUTE,
      dailyBudgetUsd: e.CAIRN_DAILY_BUDGET_USD,
      serverDailyBudgetUsd: e.CAIRN_SERVER_DAILY_BUDGET_USD ?? null,
      threads: e.CAIRN_THREADS === 'on',
      messageContent: e.CAIRN_MESSAGE_CONTENT === 'on',
      maxConcurrentRuns: e.CAIRN_MAX_CONCURRENT_RUNS,
      shutdownGraceMs: e.CAIRN_SHUTDOWN_GRACE_S * 1000,
      globalRequestsPerSecond: e.DISCORD_GLOBAL_REQUESTS_PER_SECOND,
      shards: e.CAIRN_SHARDS ?? null,
    },
    llm: {
      apiKey: e.OPENAI_API_KEY,
      baseURL: e.OPENAI_BASE_URL,
      model: e.CAIRN_MODEL,
      models: [...new Set([e.CAIRN_MODEL, ...e.CAIRN_MODELS])],
      timeoutMs: e.CAIRN_LLM_TIMEOUT_S * 1000,
      maxRetries: e.CAIRN_LLM_MAX_RETRIES,
      pricesJson: e.CAIRN_PRICES,
      toolCalling: e.CAIRN_TOOL_CALLING,
      vision: e.CAIRN_VISION,
      contextTokens: e.CAIRN_CONTEXT_TOKENS,
      maxOutputTokens: e.CAIRN_MAX_OUTPUT_TOKENS,
    },
    embeddings: e.CAIRN_EMBEDDINGS,
    memoryMaxRows: e.CAIRN_MEMORY_MAX_ROWS,
    memoryMaxRowsPerServer: e.CAIRN_MEMORY_MAX_ROWS_PER_SERVER,
    memoryMaxRowsPerUser: e.CAIRN_MEMORY_MAX_ROWS_PER_USER,
    memoryCacheMb: { index: e.CAIRN_MEMORY_INDEX_CACHE_MB ?? indexCacheMbFor(e.CAIRN_MEMORY_MAX_ROWS), metadata: e.CAIRN_MEMORY_METADATA_CACHE_MB },
    workspaceRetentionDays: e.CAIRN_WORKSPACE_RETENTION_DAYS,
    dataDir: resolveDataDir(e.CAIRN_DATA_DIR, cwd),
    minScheduleIntervalS: e.CAIRN_MIN_SCHEDULE_INTERVAL_S,
    schedules: {
      maxConcurrentRuns: e.CAIRN_MAX_SCHEDULED_RUNS,
      catchUp: e.CAIRN_SCHEDULE_CATCH_UP,
      maxFailures: e.CAIRN_SCHEDULE_MAX_FAILURES,
      backoffBaseMs: e.CAIRN_SCHEDULE_BACKOFF_S * 1000,
      maxSchedules: e.CAIRN_MAX_SCHEDULES,
    },
    logLevel: e.LOG_LEVEL,
    metrics: { port: e.CAIRN_METRICS_PORT ?? null, host: e.CAIRN_METRICS_HOST },
    queue: { redisUrl: e.CAIRN_REDIS_URL ?? null, lockMs: e.CAIRN_QUEUE_LOCK_S * 1000 },
    restProxy: { host: e.CAIRN_REST_PROXY_HOST, port: e.CAIRN_REST_PROXY_PORT },
    conversations: { maxTurns: e.CAIRN_CONVERSATION_MAX_TURNS, historyTokens: e.CAIRN_CONVERSATION_TOKENS },
    limits: {
      maxSteps: e.CAIRN_MAX_STEPS,
      maxTokens: e.CAIRN_MAX_TOKENS,
      maxCostUsd: e.CAIRN_MAX_COST_USD,
      runTimeoutMs: e.CAIRN_RUN_TIMEOUT_S * 1000,
    },
    completionCheck: e.CAIRN_COMPLETION_CHECK === 'on',
    modes: { reflexionAttempts: e.CAIRN_REFLEXION_ATTEMPTS, planReplans: e.CAIRN_PLAN_REPLANS },
    approvals: { minRisk: e.CAIRN_APPROVAL_RISK, timeoutMs: e.CAIRN_APPROVAL_TIMEOUT_S * 1000 },
    search: { searxngUrl: e.CAIRN_SEARXNG_URL, braveApiKey: e.CAIRN_BRAVE_API_KEY, timeoutMs: e.CAIRN_SEARCH_TIMEOUT_S * 1000 },
    mcpServers: e.CAIRN_MCP_SERVERS,
    runCode: { setting: e.CAIRN_RUN_CODE, python: e.CAIRN_PYTHON, timeoutMs: e.CAIRN_CODE_TIMEOUT_S * 1000 },
    http: {
      allowedDomains: e.CAIRN_HTTP_ALLOWED_DOMAINS,
      timeoutMs: e.CAIRN_HTTP_TIMEOUT_S * 1000,
      maxResponseBytes: e.CAIRN_HTTP_MAX_BYTES,
      maxRedirects: e.CAIRN_HTTP_MAX_REDIRECTS,
    },
    files: {
      cdnOrigins: [...new Set([...DISCORD_CDN_ORIGINS, ...e.DISCORD_CDN_URL])],
      limits: {
        maxFiles: e.CAIRN_FILES_MAX_COUNT,
        maxFileBytes: e.CAIRN_FILE_MAX_MB * 1024 * 1024,
        maxTotalBytes: e.CAIRN_FILES_MAX_TOTAL_MB * 1024 * 1024,
        downloadTimeoutMs: e.CAIRN_FILE_DOWNLOAD_TIMEOUT_S * 1000,
        extractTimeoutMs: e.CAIRN_FILE_EXTRACT_TIMEOUT_S * 1000,
        maxExtractedChars: e.CAIRN_FILE_TEXT_MAX_CHARS,
        maxPdfPages: e.CAIRN_PDF_MAX_PAGES,
      },
    },
  };
}

/** Secret values for the logger to scrub. */
export function secretsOf(config: Config): string[] {
  return [config.discord.token, config.llm.apiKey, config.search.braveApiKey, redisPassword(config.queue.redisUrl), ...mcpSecretValues(config.mcpServers)].filter((s): s is string => s !== undefined);
}

/** The password in a Redis URL (redis://user:password@host), scrubbed from logs like any secret. */
function redisPassword(url: string | null): string | undefined {
  if (url === null) return undefined;
  const password = decodeURIComponent(new URL(url).password);
  return password === '' ? undefined : password;
}
