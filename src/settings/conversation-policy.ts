/**
 * The conversations port (src/conversations/types.ts) answered from settings: `threads` and
 * `mentions` per server and channel, inheriting CAIRN_THREADS and "on". Synchronous, from memory.
 */
import type { ConversationPolicy } from '../conversations/types.js';
import type { SettingsReader } from './types.js';

export function settingsConversationPolicy(settings: SettingsReader): ConversationPolicy {
  return {
    threads: (place) => settings.resolve(place).threads.value,
    mentions: (place) => settings.resolve(place).mentions.value,
  };
}
