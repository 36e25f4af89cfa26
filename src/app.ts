import os from 'node:os';
import path from 'node:path';
import { Agent } from './agent/agent.js';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { OpenAiChatModel } from './llm/client.js';
import { buildPriceTable, priceFor } from './llm/pricing.js';
import { builtinTools } from './tools/builtin/index.js';
import { ToolRegistry } from './tools/registry.js';

/** The services every surface (terminal now, Discord later) is built from. */
export interface App {
  config: Config;
  log: Logger;
  agent: Agent;
  tools: ToolRegistry;
}

/** Where per-run workspaces live: beside the memory database when it is local. */
export function workspaceRootFor(dataDir: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(dataDir)
    ? path.join(os.tmpdir(), 'cairn-workspaces')
    : path.join(dataDir, 'workspaces');
}

/** Composition root: config → logger → llm → tools → agent. */
export function createApp(config: Config, log: Logger): App {
  const prices = buildPriceTable(config.llm.pricesJson);
  const model = new OpenAiChatModel({
    model: config.llm.model,
    baseURL: config.llm.baseURL,
    apiKey: config.llm.apiKey,
    timeoutMs: config.llm.timeoutMs,
    maxRetries: config.llm.maxRetries,
    log,
  });
  const tools = new ToolRegistry(builtinTools());
  const agent = new Agent({
    model,
    tools,
    log,
    price: priceFor(config.llm.model, prices),
    limits: {
      maxSteps: config.limits.maxSteps,
      maxTokens: config.limits.maxTokens,
      maxCostUsd: config.limits.maxCostUsd,
      maxDurationMs: config.limits.runTimeoutMs,
    },
    workspaceRoot: workspaceRootFor(config.dataDir),
  });
  return { config, log, agent, tools };
}
