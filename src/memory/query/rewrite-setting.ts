import { z } from 'zod';
import type { ChatModel } from '../../llm/types.js';
import type { Logger } from '../../log.js';
import { ModelQueryRewriter, type QueryRewriter } from './rewrite.js';

/**
 * CAIRN_RECALL_REWRITE: `on` lets recall ask the run's model for keyword rewrites of a search
 * (one extra model call per `memory_search`, up to CAIRN_RECALL_REWRITE_TIMEOUT_S). Off by
 * default: offline recall stays free and fast.
 */
export const RECALL_REWRITE_ENV = {
  CAIRN_RECALL_REWRITE: z.enum(['on', 'off'], { error: 'must be on or off' }).default('off'),
  CAIRN_RECALL_REWRITE_TIMEOUT_S: z.coerce.number({ error: 'must be a number' }).positive({ error: 'must be greater than 0' }).max(60, { error: 'must be at most 60' }).default(4),
};

export interface RecallRewriteConfig {
  enabled: boolean;
  timeoutMs: number;
}

/** The rewriter the app hands to recall's callers, or undefined when the setting is off. */
export function recallRewriterFor(config: RecallRewriteConfig, model: ChatModel, log: Logger): QueryRewriter | undefined {
  return config.enabled ? new ModelQueryRewriter(model, log, { timeoutMs: config.timeoutMs, maxQueries: 4 }) : undefined;
}
