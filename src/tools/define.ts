import type { z } from 'zod';
import type { Tool } from './types.js';

/**
 * Declares a tool with its handler's argument type inferred from the zod schema, and returns
 * the erased Tool type so differently-shaped tools can share one list. The registry validates
 * arguments against `input` before calling `run`, which is what makes the erasure safe.
 */
export function defineTool<S extends z.ZodType>(tool: Tool<S>): Tool {
  return tool;
}
