import { workspaceRootFor } from './tools/workspace-root.js';
import { DurableRuns } from './durable/runs.js';
import { CairnMetrics } from './metrics/metrics.js';
import { DurableRunStore } from './durable/store.js';
import { Agent } from './agent/agent.js';
import { ConfigError, type Config } from './config.js';
import type { Logger } from './log.js';
import { OpenAiChatModel } from './llm/client.js';
import { ToolCallingModel } from './llm/adaptive-tools.js';
import { resolveContextWindow } from './llm/context-window.js';
import { FitWindowModel } from './llm/fit-window.js';
import { ModelVision, serverProbe, VisionFallbackModel } from './llm/vision.js';
import { buildPriceTable, priceFor } from './llm/pricing.js';
import { createEmbedder } from './memory/embedders/index.js';
import { Memory } from './memory/memory.js';
import { RunMemory } from './memory/run-memory.js';
import { tableUpkeep } from './memory/table-upkeep.js';
import { Reflector } from './feedback/reflector.js';
import { DailyBudget } from './budget/daily-budget.js';
import { SpendLedger } from './budget/ledger.js';
import { Budgets } from './budget/budgets.js';
import { envBudgetLimits } from './budget/limits.js';
import { WarnedServers } from './budget/warned-servers.js';
import { recordingUsage } from './usage/recorder.js';
import { UsageStore } from './usage/store.js';
import type { ChatModel } from './llm/types.js';
import { builtinTools } from './tools/builtin/index.js';
import { memoryTools } from './tools/memory.js';
import { recallRewriterFor } from './memory/query/rewrite-setting.js';
import { codeToolFor } from './tools/code.js';
import { loadMcpServers, McpTools } from './tools/mcp/index.js';
import { ToolRegistry } from './tools/registry.js';
import { searchProviderFrom, webSearchTool } from './tools/search/index.js';
import { httpTools } from './tools/web/http.js';
import { WorkspaceRetention } from './tools/workspace-retention.js';
import { errorMessage } from './text.js';
import { Conversations, DEFAULT_CONVERSATION_LIMITS } from './conversations/service.js';
import { StoredPersonTurns } from './conversations/person-turns.js';
import { ConversationStore } from './conversations/store.js';
import { settingsSchema } from './memory/schema.js';
import { Settings, settingsLimitsFrom } from './settings/service.js';
import { settingsBudgetLimits } from './settings/budget-limits.js';
import { ModelCatalog } from './llm/models.js';
import { RunRecordStore } from './runs/store.js';
import { forgettingRunRecords } from './runs/person-runs.js';
import type { RunRecords } from './runs/types.js';

/** The services every surface (terminal now, Discord later) is built from. */
export interface App {
  config: Config;
  log: Logger;
  agent: Agent;
  tools: ToolRegistry;
  memory: Memory;
  /** Turns 👎 and failed runs into lessons, in the background. */
  reflector: Reflector;
  /** Each person's daily spend: held per run as it starts, settled and recorded as it ends. */
  budget: DailyBudget;
  /** Every daily budget a run is held to: its payer's and, in a server, the server's (over `budget`'s accounts). */
  budgets: Budgets;
  /** One row per finished run and reflection, for `/usage`. */
  usage: UsageStore;
  /** The chat model, for calls outside runs (report comparisons). */
  model: ChatModel;
  /** The models runs may use: CAIRN_MODEL and the allow-list CAIRN_MODELS (per-server `model` setting). */
  models: ModelCatalog;
  /** Settings per server, channel and thread (/config); `resolve` is synchronous. */
  settings: Settings;
  /** Conversations (threads, DMs, reply chains, schedules' reports): their turns and the history runs get. */
  conversations: Conversations;
  /** What each run started from Discord was asked (goal, files, mode): 🔁 Retry and `/runs show` read it. */
  runRecords: RunRecords;
  /** Runs that survive restarts: journaled as they go, suspended on shutdown, resumed at the next start (src/durable). */
  durable: DurableRuns;
  /** What `/metrics` serves (src/metrics): every run's events are counted here. */
  metrics: CairnMetrics;
  /** Flushes and closes the memory database. */
  close(): Promise<void>;
}

/** Opens the memory database with the configured embedder. */
export async function openMemory(
  config: Config,
  log: Logger,
  options: { anyEmbedder?: boolean; onRunRecords?: (store: RunRecordStore) => void; onDurableRuns?: (store: DurableRunStore) => void } = {},
): Promise<Memory> {
  const embedder = await createEmbedder(
    config.embeddings,
    { baseURL: config.llm.baseURL, apiKey: config.llm.apiKey, timeoutMs: config.llm.timeoutMs, maxRetries: config.llm.maxRetries },
    log,
  );
  return Memory.open({
    uri: config.dataDir,
    embedder,
    log,
    maintenance: { maxMemories: config.memoryMaxRows, maxMemoriesPerServer: config.memoryMaxRowsPerServer, maxMemoriesPerUser: config.memoryMaxRowsPerUser },
    cacheMb: config.memoryCacheMb,
    // With a queue the gateway and workers all write here.
    shared: config.queue.redisUrl !== null,
    ...(options.anyEmbedder === undefined ? {} : { anyEmbedder: options.anyEmbedder }),
    // Conversation turns are a person's data too: `memory export` and `forget --user` include them.
    // Run records too (goal, files, the message asked about): forgetting a person forgets them.
    // The one store of run records: the app's (`onRunRecords`) is this one, not a second over the same table.
    personTurns: (db) => {
      const runRecords = new RunRecordStore((name, schema) => db.table(name, schema), log);
      options.onRunRecords?.(runRecords);
      // The one store of durable runs too: forgetting a person forgets their unfinished runs' journals.
      const durable = new DurableRunStore((name, schema) => db.table(name, schema), log);
      options.onDurableRuns?.(durable);
      return forgettingRunRecords(new StoredPersonTurns((name, schema) => db.table(name, schema), log), runRecords, log, durable);
    },
  });
}

/** http_get and http_request; a bad allow-list entry is a configuration error, named. */
function webTools(config: Config) {
  try {
    return httpTools(config.http);
  } catch (error) {
    throw new ConfigError([`CAIRN_HTTP_ALLOWED_DOMAINS: ${errorMessage(error)}`]);
  }
}

/** The configured MCP servers; a malformed setting is a configuration error (exit 2), named. */
async function mcpServersOf(config: Config) {
  try {
    return await loadMcpServers(config.mcpServers);
  } catch (error) {
    throw new ConfigError([`CAIRN_MCP_SERVERS: ${errorMessage(error)}`]);
  }
}

/**
 * A chat model as runs use it: tools as `tools`, or in the prompt for servers that refuse them
 * (CAIRN_TOOL_CALLING); every prompt fitted to the model's window (CAIRN_CONTEXT_TOKENS when it is
 * the configured model, else asked of the server on first use).
 */
function chatModelFor(config: Config, id: string, log: Logger): FitWindowModel {
  const client = new OpenAiChatModel({ model: id, baseURL: config.llm.baseURL, apiKey: config.llm.apiKey, timeoutMs: config.llm.timeoutMs, maxRetries: config.llm.maxRetries, log });
  const configured = id === config.llm.model ? config.llm.contextTokens : undefined;
  // Innermost, so a refusal of images is answered before tools or the window are blamed for it.
  const seeing = new VisionFallbackModel(client, { log });
  return new FitWindowModel(new ToolCallingModel(seeing, { setting: config.llm.toolCalling, log }), {
    window: () => resolveContextWindow({ model: id, baseURL: config.llm.baseURL, apiKey: config.llm.apiKey, configured, log }),
    maxOutputTokens: config.llm.maxOutputTokens,
    log,
  });
}

/** Composition root: config → logger → llm → memory → tools → agent. */
export async function createApp(config: Config, log: Logger, options: { externalTools?: boolean; startReflector?: boolean } = {}): Promise<App> {
  // Settings that can be wrong are checked before anything is opened or started.
  const web = webTools(config);
  const model = chatModelFor(config, config.llm.model, log);
  const priceTable = buildPriceTable(config.llm.pricesJson);
  // The default model and the others a server may pick (CAIRN_MODELS), each built on first use.
  const models = new ModelCatalog(config.llm.model, config.llm.models, (id) => (id === config.llm.model ? model : chatModelFor(config, id, log)), (id) => priceFor(id, priceTable));
  const shared: { runRecords?: RunRecordStore; durableRuns?: DurableRunStore } = {};
  const memory = await openMemory(config, log, {
    onRunRecords: (store) => {
      shared.runRecords = store;
    },
    onDurableRuns: (store) => {
      shared.durableRuns = store;
    },
  });
  // Small tables are compacted as their writes pile up (episodes, conversations, spend …), not on a timer.
  tableUpkeep.configure({}, log);
  const price = priceFor(config.llm.model, priceTable);
  const track = (work: Promise<unknown>, what: string) => {
    memory.track(work, what, log);
  };
  const budget = new DailyBudget(config.discord.dailyBudgetUsd, new SpendLedger(memory.db.spend), track);
  // With a queue several processes spend from the same budgets: each reads the others' spend every few seconds.
  if (config.queue.redisUrl !== null) budget.share(SHARED_SPEND_READ_MS);
  const budgets = new Budgets(budget, envBudgetLimits(config.discord), new WarnedServers(memory.db.meta, track), track);
  await budgets.load();
  const usage = await UsageStore.open(memory.db);
  await usage.prune(Date.now());
  const reflector = new Reflector(memory, model, log, undefined, { budgets, price, usage });
  // The bot starts it once it can announce lessons (and knows whether a queue makes them).
  if (options.startReflector ?? true) reflector.start();
  // Commands that never run the agent skip what reaches outside: no sandbox probe, no MCP servers started.
  const external = options.externalTools ?? true;
  const search = external ? searchProviderFrom(config.search) : null;
  if (external && search === null) log.info('web_search is not offered: set CAIRN_SEARXNG_URL or CAIRN_BRAVE_API_KEY to enable it');
  // Offered only where the sandbox works; otherwise the reason is logged once.
  const code = external ? await codeToolFor(config.runCode.setting, log, { python: config.runCode.python, timeoutMs: config.runCode.timeoutMs }) : null;
  // A server that fails is logged and skipped; Cairn runs without its tools.
  const mcp = await McpTools.connect(external ? await mcpServersOf(config) : [], log);
  const tools = new ToolRegistry([
    ...builtinTools(),
    ...memoryTools(memory, { rewriter: recallRewriterFor(config.recallRewrite, model, log) }),
    ...web,
    ...(code === null ? [] : [code]),
    ...(search === null ? [] : [webSearchTool(search)]),
    ...mcp.tools(),
  ]);
  // Old run workspaces are deleted in the background (at start-up, then hourly); runs hold theirs.
  const workspaces = new WorkspaceRetention({
    root: workspaceRootFor(config.dataDir),
    retentionMs: config.workspaceRetentionDays * 86_400_000,
    maxRunMs: config.limits.runTimeoutMs,
    endTimes: (ids) => memory.episodes.endTimes(ids),
    log,
  });
  workspaces.start();
  const metrics = new CairnMetrics(new Set(tools.list().map((tool) => tool.name)));
  const agent = new Agent({
    observers: [(run) => metrics.observe(run)],
    model,
    tools,
    log,
    price,
    limits: {
      maxSteps: config.limits.maxSteps,
      maxTokens: config.limits.maxTokens,
      maxCostUsd: config.limits.maxCostUsd,
      maxDurationMs: config.limits.runTimeoutMs,
    },
    workspaceRoot: workspaceRootFor(config.dataDir),
    workspaces,
    completionCheck: config.completionCheck,
    // CAIRN_VISION (auto: the known-models table, else one probe per model), less the models whose server refused images in this process.
    sees: new ModelVision({ setting: config.llm.vision, probe: serverProbe({ baseURL: config.llm.baseURL, apiKey: config.llm.apiKey, log }), log }).sees,
    modes: config.modes,
    approvals: config.approvals,
    // Every run ends through the memory port: its usage is recorded there, whatever started it.
    memory: recordingUsage(new RunMemory(memory, log, undefined, (run, result) => {
      const cause = result.status === 'failed' ? 'failed' : 'stopped';
      memory.track(reflector.request({ runId: run.runId, cause, userId: run.billedTo, comment: null }), 'queueing a reflection', log);
    }), usage, track),
  });
  const durableStore = shared.durableRuns ?? new DurableRunStore((name, schema) => memory.db.table(name, schema), log);
  const durable = new DurableRuns(agent, durableStore, models, log);
  const close = async () => {
    budget.stopSharing();
    await durableStore.close();
    await runRecords.close();
    await workspaces.close();
    await reflector.close();
    await mcp.close();
    await tableUpkeep.close();
    await memory.close();
  };
  // After the tools: disabled_tools must name tools this process offers.
  const settings = await Settings.open(await memory.db.table('settings', settingsSchema), {
    limits: settingsLimitsFrom(config, tools.list().map((tool) => tool.name)),
    log,
  });
  // Budgets from here on follow each server's settings (user_daily_budget_usd, server_daily_budget_usd).
  budgets.setLimits(settingsBudgetLimits(settings));
  // Earlier turns are fitted to a share of the same window the prompt fitter uses.
  const conversations = new Conversations(new ConversationStore((name, schema) => memory.db.table(name, schema), log), async () => (await model.contextWindow()).tokens, {
    ...DEFAULT_CONVERSATION_LIMITS,
    ...config.conversations,
  });
  const runRecords = shared.runRecords ?? new RunRecordStore((name, schema) => memory.db.table(name, schema), log);
  return { config, log, agent, tools, memory, reflector, budget, budgets, usage, model, models, settings, conversations, runRecords, durable, metrics, close };
}

/** How often a process sharing the budgets (with a queue) reads the others' spend. */
const SHARED_SPEND_READ_MS = 5_000;

export { createScheduler } from './app-scheduler.js';
export { workspaceRootFor };
