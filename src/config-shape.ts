/**
 * The configuration the program runs with, as src/config.ts builds it from the environment (kept
 * apart so the schema and its checks stay one readable file).
 */
import type { ToolCallingSetting } from './llm/adaptive-tools.js';
import type { FileLimits } from './files/limits.js';
import type { VisionSetting } from './llm/vision.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface Config {
  discord: {
    token: string | undefined;
    restUrl: string | undefined;
    /** Gateway shards: 'auto', a count, or null (one connection, shard 0 of 1). */
    shards: 'auto' | number | null;
    guildId: string | undefined;
    /** Who may use the bot; empty lists mean everyone. A user passes by id or by any listed role. */
    allowedUsers: string[];
    allowedRoles: string[];
    /** Where the bot answers; empty means everywhere (threads count as their parent channel). */
    allowedChannels: string[];
    /** Roles that may manage other people's runs and schedules (besides Manage Server). */
    adminRoles: string[];
    runsPerMinute: number;
    commandsPerMinute: number;
    dailyBudgetUsd: number;
    /** CAIRN_SERVER_DAILY_BUDGET_USD: one server's spend per UTC day; null: no server-wide limit. */
    serverDailyBudgetUsd: number | null;
    /** CAIRN_THREADS: whether a mention's answer opens a thread (servers may change it with /config). */
    threads: boolean;
    /** CAIRN_MESSAGE_CONTENT: ask for the privileged intent and answer every message in Cairn's threads. */
    messageContent: boolean;
    maxConcurrentRuns: number;
    /** How long running runs get to finish on shutdown before they are interrupted. */
    shutdownGraceMs: number;
    /** discord.js's client-side global request limit (Discord's default for a bot: 50/s). */
    globalRequestsPerSecond: number;
  };
  llm: {
    apiKey: string | undefined;
    baseURL: string | undefined;
    model: string;
    /** The models /config may choose: CAIRN_MODEL first, then CAIRN_MODELS (no repeats). */
    models: string[];
    timeoutMs: number;
    maxRetries: number;
    /** Raw JSON price overrides (parsed by the LLM pricing module). */
    pricesJson: string | undefined;
    /** How tools reach the model: `tools` (native), the prompt, or native until the server refuses (auto). */
    toolCalling: ToolCallingSetting;
    /** CAIRN_VISION: images as image parts always (on), never (off), or for known vision models (auto). */
    vision: VisionSetting;
    /** CAIRN_CONTEXT_TOKENS: the model's context window; undefined means discover it. */
    contextTokens: number | undefined;
    /** CAIRN_MAX_OUTPUT_TOKENS: the most a reply may be, sent to the server (less on small windows). */
    maxOutputTokens: number;
  };
  embeddings: string;
  /** Size cap of the memories table; above it the least valuable memories are evicted. */
  memoryMaxRows: number;
  /** Rows one server may keep, and one user (with their schedules) in one server or their DMs. */
  memoryMaxRowsPerServer: number;
  memoryMaxRowsPerUser: number;
  /** Bounds on LanceDB's index and metadata caches, in MiB (CAIRN_MEMORY_*_CACHE_MB). */
  memoryCacheMb: { index: number; metadata: number };
  /** Days a run's own workspace is kept after the run ends (0: deleted when it ends). */
  workspaceRetentionDays: number;
  /** LanceDB URI: an absolute local path, or a remote URI (s3://…) passed through unchanged. */
  dataDir: string;
  minScheduleIntervalS: number;
  schedules: {
    maxConcurrentRuns: number;
    catchUp: 'one' | 'none';
    maxFailures: number;
    backoffBaseMs: number;
    /** Schedules one server may have. */
    maxSchedules: number;
  };
  logLevel: (typeof LOG_LEVELS)[number];
  /** Conversations: turns one keeps, and the most tokens of earlier turns a prompt carries. */
  /** `/healthz`, `/readyz` and `/metrics` (src/metrics): where they are served; port null, nowhere. */
  metrics: { port: number | null; host: string };
  /**
   * With a Redis URL, runs are BullMQ jobs shared by every process (src/queue); null: one process,
   * as embedded. lockMs: how long a silent worker keeps a run before another takes it over.
   */
  queue: { redisUrl: string | null; lockMs: number };
  /** `cairn rest-proxy`: where it listens. */
  restProxy: { host: string; port: number };
  conversations: { maxTurns: number; historyTokens: number };
  /** Recall may ask the model for keyword rewrites (memory_search only); off by default. */
  recallRewrite: { enabled: boolean; timeoutMs: number };
  limits: { maxSteps: number; maxTokens: number; maxCostUsd: number; runTimeoutMs: number };
  /** Check each final answer against the goal before a run counts as succeeded. */
  completionCheck: boolean;
  /** Limits of the plan and reflexion modes. */
  modes: { reflexionAttempts: number; planReplans: number };
  /** Tools at or above this risk wait for a person's approval, for at most timeoutMs. */
  approvals: { minRisk: 'low' | 'medium' | 'high' | 'none'; timeoutMs: number };
  /** web_search providers; with neither set the tool is not offered. */
  search: { searxngUrl: string | undefined; braveApiKey: string | undefined; timeoutMs: number };
  /** MCP servers: JSON text or a path to a JSON file (see README). */
  mcpServers: string | undefined;
  /** run_code: offered when the sandbox works (auto), never (off), or without isolation (unsandboxed). */
  runCode: { setting: 'auto' | 'off' | 'unsandboxed'; python: string; timeoutMs: number };
  /** http_get / http_request: optional domain allow-list (empty: any public host) and limits. */
  http: { allowedDomains: string[]; timeoutMs: number; maxResponseBytes: number; maxRedirects: number };
  /** Files in (attachments): Discord's CDN origins plus DISCORD_CDN_URL, and the intake's limits. */
  files: { cdnOrigins: string[]; limits: FileLimits };
}
