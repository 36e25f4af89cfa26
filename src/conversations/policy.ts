import type { ConversationPolicy } from './types.js';

/**
 * The policy from the environment: CAIRN_THREADS everywhere, mentions answered everywhere. The
 * settings service replaces it with per-server, channel and thread values (/config).
 */
export function environmentPolicy(env: { threads: boolean }): ConversationPolicy {
  return {
    threads: () => env.threads,
    mentions: () => true,
  };
}
