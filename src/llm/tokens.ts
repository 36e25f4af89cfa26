import type { ChatMessage } from './types.js';

/**
 * Token estimates for budgets and for servers that report no usage: ~4 characters per token is
 * the usual rule for English text and JSON. Each message and tool call adds a little framing.
 */
export function estimateTextTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

/**
 * What one image part is counted as. Servers charge images by size and detail (OpenAI: 85 tokens
 * at low detail up to ~1,100 for a 1024² tile set; Qwen-VL and LLaVA: 576–1,200 patches), so a
 * fixed, generous figure keeps windows and budgets honest without decoding the image.
 */
export const IMAGE_TOKENS = 800;

export function estimateTokens(messages: readonly ChatMessage[]): number {
  let chars = 0;
  for (const message of messages) {
    chars += 16 + (message.content?.length ?? 0);
    if (message.role === 'user') chars += (message.images?.length ?? 0) * IMAGE_TOKENS * 4;
    if (message.role === 'assistant') {
      for (const call of message.toolCalls ?? []) chars += 24 + call.name.length + call.arguments.length;
    }
  }
  return estimateTextTokens(chars);
}
