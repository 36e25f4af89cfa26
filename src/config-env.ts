/**
 * The environment's schema: every variable Cairn reads, its bounds and default, and how a bad
 * value is explained (src/config.ts turns it into a Config).
 */
import { z } from 'zod';
import { METADATA_CACHE_MB } from './memory/cache-sizes.js';
import { RECALL_REWRITE_ENV } from './memory/query/rewrite-setting.js';
import { TOOL_CALLING_SETTINGS } from './llm/adaptive-tools.js';
import { parseOrigin } from './files/origins.js';
import { VISION_SETTINGS } from './llm/vision.js';
import { LOG_LEVELS } from './config-shape.js';

/** Variables whose values are never echoed back in error messages. */
// CAIRN_MCP_SERVERS may carry tokens in headers or env.
export const SECRET_VARIABLES = new Set(['DISCORD_TOKEN', 'OPENAI_API_KEY', 'CAIRN_BRAVE_API_KEY', 'CAIRN_MCP_SERVERS', 'CAIRN_REDIS_URL']);

const wholeNumber = (min: number, max: number, fallback: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` })
    .default(fallback);

/** A whole number of `unit` with no default: left out, the app works it out. */
const optionalWholeNumber = (min: number, max: number, unit: string) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: `must be a whole number of ${unit}` })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` })
    .optional();

const positiveNumber = (max: number, fallback: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .positive({ error: 'must be greater than 0' })
    .max(max, { error: `must be at most ${max}` })
    .default(fallback);

/** A comma-separated list whose every item matches `item`; empty means "no restriction". */
const commaList = (item: RegExp, error: string) =>
  z
    .string()
    .transform((raw) => raw.split(',').map((s) => s.trim()).filter((s) => s !== ''))
    .pipe(z.array(z.string().regex(item, { error })));

/** Comma-separated Discord ids. */
const idList = commaList(/^\d{17,20}$/, 'must be a comma-separated list of Discord ids (17–20 digits)');

/** Comma-separated http(s) origins (scheme, host, port), each checked and normalised. */
const originList = z.string().transform((raw, ctx) => {
  const origins: string[] = [];
  for (const item of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const parsed = parseOrigin(item);
    if ('problem' in parsed) ctx.addIssue({ code: 'custom', message: `"${item}" ${parsed.problem}` });
    else origins.push(parsed.origin);
  }
  return origins;
});

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

export const envSchema = z.object({
  ...RECALL_REWRITE_ENV,
  DISCORD_TOKEN: z.string().min(20, { error: 'does not look like a bot token (too short)' }).optional(),
  DISCORD_REST_URL: httpUrl.optional(),
  DISCORD_GUILD_ID: z
    .string()
    .regex(/^\d{17,20}$/, { error: 'must be a guild id (a 17–20 digit snowflake)' })
    .optional(),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: httpUrl.optional(),
  CAIRN_MODEL: z.string().min(1).default('gpt-4o-mini'),
  // Models /config may choose per server or channel; CAIRN_MODEL is always one of them.
  CAIRN_MODELS: commaList(/^[^\s,]{1,200}$/, 'must be a comma-separated list of model ids (no spaces, at most 200 characters each)')
    .refine((ids) => ids.length <= 100, { error: 'may list at most 100 models' })
    .default([]),
  CAIRN_EMBEDDINGS: z.string().min(1).default('local'),
  CAIRN_DATA_DIR: z.string().min(1).default('./memory-data'),
  CAIRN_MIN_SCHEDULE_INTERVAL_S: wholeNumber(1, 31_536_000, 60),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  CAIRN_MAX_STEPS: wholeNumber(1, 500, 20),
  CAIRN_MAX_TOKENS: wholeNumber(1_000, 100_000_000, 500_000),
  CAIRN_MAX_COST_USD: positiveNumber(10_000, 1),
  CAIRN_RUN_TIMEOUT_S: wholeNumber(1, 86_400, 900),
  CAIRN_LLM_TIMEOUT_S: wholeNumber(1, 3_600, 120),
  CAIRN_LLM_MAX_RETRIES: wholeNumber(0, 10, 3),
  CAIRN_TOOL_CALLING: z.enum(TOOL_CALLING_SETTINGS, { error: 'must be auto, native or prompt' }).default('auto'),
  CAIRN_VISION: z.enum(VISION_SETTINGS, { error: 'must be auto, on or off' }).default('auto'),
  // Optional: without it the window is asked of the server (src/llm/context-window.ts).
  CAIRN_CONTEXT_TOKENS: optionalWholeNumber(512, 10_000_000, 'tokens'),
  CAIRN_MAX_OUTPUT_TOKENS: wholeNumber(64, 1_000_000, 4_096),
  CAIRN_PRICES: z.string().min(1).optional(),
  CAIRN_MEMORY_MAX_ROWS: wholeNumber(100, 100_000_000, 200_000),
  CAIRN_MEMORY_MAX_ROWS_PER_SERVER: wholeNumber(100, 100_000_000, 50_000),
  CAIRN_MEMORY_MAX_ROWS_PER_USER: wholeNumber(100, 100_000_000, 5_000),
  // Optional: sized from CAIRN_MEMORY_MAX_ROWS without it (src/memory/cache-sizes.ts).
  CAIRN_MEMORY_INDEX_CACHE_MB: optionalWholeNumber(16, 1_048_576, 'MiB'),
  CAIRN_MEMORY_METADATA_CACHE_MB: wholeNumber(8, 16_384, METADATA_CACHE_MB),
  CAIRN_WORKSPACE_RETENTION_DAYS: wholeNumber(0, 3_650, 7),
  CAIRN_ALLOWED_USERS: idList.default([]),
  CAIRN_ALLOWED_ROLES: idList.default([]),
  // `dm` in the list lets direct messages through once channels are restricted.
  CAIRN_ALLOWED_CHANNELS: commaList(/^(\d{17,20}|dm)$/, 'must be a comma-separated list of Discord channel ids (17–20 digits), or dm').default([]),
  CAIRN_ADMIN_ROLES: idList.default([]),
  CAIRN_RUNS_PER_MINUTE: wholeNumber(1, 1_000, 6),
  CAIRN_COMMANDS_PER_MINUTE: wholeNumber(1, 1_000, 30),
  CAIRN_DAILY_BUDGET_USD: positiveNumber(100_000, 5),
  // Optional: unset means a server's spend is not limited as a whole (each person's still is).
  CAIRN_SERVER_DAILY_BUDGET_USD: z.coerce
    .number({ error: 'must be a number of US dollars' })
    .min(0, { error: 'must be 0 or more' })
    .max(1_000_000, { error: 'must be at most 1000000' })
    .optional(),
  CAIRN_THREADS: z.enum(['on', 'off'], { error: 'must be on or off' }).default('off'),
  // The privileged Message Content intent: asked for only when on (README: Conversations).
  CAIRN_MESSAGE_CONTENT: z.enum(['on', 'off'], { error: 'must be on or off' }).default('off'),
  CAIRN_CONVERSATION_MAX_TURNS: wholeNumber(10, 1_000, 200),
  CAIRN_CONVERSATION_TOKENS: wholeNumber(256, 1_000_000, 6_000),
  CAIRN_MAX_CONCURRENT_RUNS: wholeNumber(1, 1_000, 64),
  CAIRN_SHUTDOWN_GRACE_S: wholeNumber(0, 9, 7),
  // Port 0 picks a free port (tests); unset, no endpoint is served.
  CAIRN_METRICS_PORT: optionalWholeNumber(0, 65_535, 'port'),
  CAIRN_METRICS_HOST: z.string().min(1).max(255).default('127.0.0.1'),
  // Set: runs are BullMQ jobs in this Redis, shared by every Cairn process (README: Scaling out).
  CAIRN_REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  // The gateway's shards: `auto` (Discord's recommendation) or a count; unset, one connection.
  CAIRN_SHARDS: z
    .union([z.literal('auto'), z.coerce.number({ error: 'must be auto or a number of shards' }).int({ error: 'must be auto or a whole number of shards' }).min(1, { error: 'must be at least 1' }).max(1_000, { error: 'must be at most 1000' })], { error: 'must be auto or a number of shards' })
    .optional(),
  // `cairn rest-proxy`: where it listens (other processes set DISCORD_REST_URL to http://host:port/api).
  CAIRN_REST_PROXY_PORT: wholeNumber(0, 65_535, 8_080),
  CAIRN_REST_PROXY_HOST: z.string().min(1).max(255).default('127.0.0.1'),
  // How long a worker that stopped answering keeps its runs before another takes them over.
  CAIRN_QUEUE_LOCK_S: wholeNumber(1, 600, 30),
  DISCORD_GLOBAL_REQUESTS_PER_SECOND: wholeNumber(1, 10_000, 50),
  CAIRN_COMPLETION_CHECK: z.enum(['on', 'off'], { error: 'must be on or off' }).default('off'),
  CAIRN_REFLEXION_ATTEMPTS: wholeNumber(1, 10, 3),
  CAIRN_PLAN_REPLANS: wholeNumber(0, 5, 2),
  CAIRN_MAX_SCHEDULED_RUNS: wholeNumber(1, 100, 2),
  CAIRN_SCHEDULE_CATCH_UP: z.enum(['one', 'none'], { error: 'must be one or none' }).default('one'),
  CAIRN_SCHEDULE_MAX_FAILURES: wholeNumber(1, 100, 5),
  CAIRN_SCHEDULE_BACKOFF_S: wholeNumber(1, 86_400, 60),
  CAIRN_MAX_SCHEDULES: wholeNumber(1, 1_000, 25),
  CAIRN_APPROVAL_RISK: z.enum(['low', 'medium', 'high', 'none'], { error: 'must be low, medium, high or none' }).default('high'),
  CAIRN_APPROVAL_TIMEOUT_S: wholeNumber(5, 3_600, 120),
  CAIRN_SEARXNG_URL: httpUrl.optional(),
  CAIRN_BRAVE_API_KEY: z.string().min(1).optional(),
  CAIRN_SEARCH_TIMEOUT_S: wholeNumber(1, 120, 10),
  CAIRN_MCP_SERVERS: z.string().min(1).optional(),
  CAIRN_HTTP_ALLOWED_DOMAINS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((d) => d.trim()).filter((d) => d !== '')),
  CAIRN_HTTP_TIMEOUT_S: wholeNumber(1, 300, 15),
  CAIRN_HTTP_MAX_BYTES: wholeNumber(1_024, 104_857_600, 2_097_152),
  CAIRN_HTTP_MAX_REDIRECTS: wholeNumber(0, 20, 5),
  CAIRN_RUN_CODE: z.enum(['auto', 'off', 'unsandboxed'], { error: 'must be auto, off or unsandboxed' }).default('auto'),
  CAIRN_PYTHON: z.string().startsWith('/', { error: 'must be an absolute path, e.g. /usr/bin/python3' }).default('/usr/bin/python3'),
  CAIRN_CODE_TIMEOUT_S: wholeNumber(1, 600, 30),
  // Files in: Discord allows 10 attachments per message and up to 500 MB per file (Nitro).
  CAIRN_FILES_MAX_COUNT: wholeNumber(1, 10, 3),
  CAIRN_FILE_MAX_MB: wholeNumber(1, 50, 10),
  CAIRN_FILES_MAX_TOTAL_MB: wholeNumber(1, 1_000, 25),
  CAIRN_FILE_DOWNLOAD_TIMEOUT_S: wholeNumber(1, 600, 30),
  CAIRN_FILE_EXTRACT_TIMEOUT_S: wholeNumber(1, 300, 20),
  CAIRN_FILE_TEXT_MAX_CHARS: wholeNumber(1_000, 10_000_000, 200_000),
  CAIRN_PDF_MAX_PAGES: wholeNumber(1, 5_000, 100),
  // Extra origins attachments may come from (a REST proxy's, a test CDN's), besides Discord's CDN.
  DISCORD_CDN_URL: originList.default([]),
});

export type Env = z.output<typeof envSchema>;
