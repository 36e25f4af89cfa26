/** The problems loadConfig reports for an environment (none: an empty list), for config tests. */
import { ConfigError, loadConfig } from '../src/config.js';

export function configProblems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}
