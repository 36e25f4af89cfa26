import type { ChatMessage } from './types.js';

/**
 * Token estimates for budgets and for servers that report no usage: ~4 characters per token is
 * the usual rule for English text and JSON. Each message and tool call adds a little framing.
 */
export function estimateTextTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

export function estimateTokens(messages: readonly ChatMessage[]): number {
  let chars = 0;
  for (const message of messages) {
    chars += 16 + (message.content?.length ?? 0);
    if (message.role === 'assistant') {
      for (const call of message.toolCalls ?? []) chars += 24 + call.name.length + call.arguments.length;
    }
  }
  return estimateTextTokens(chars);
}
