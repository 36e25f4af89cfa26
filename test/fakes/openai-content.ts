/**
 * Chat Completions message content as servers receive it: a string, or an array of content parts
 * (`{"type":"text","text"}`, `{"type":"image_url","image_url":{"url":"data:image/png;base64,…"}}`,
 * the OpenAI format Ollama, vLLM, llama.cpp, LM Studio and OpenRouter take: notes §8).
 */
import { z } from 'zod';
import type { ChatCompletionRequestBody } from './openai-server.js';

export const ContentParts = z.array(z.looseObject({ type: z.string(), text: z.string().optional(), image_url: z.looseObject({ url: z.string() }).optional() }));

/** A message's text: its string content, or its text parts joined (a user turn with images). */
export const textOf = (message: { role: string }): string => {
  if (!('content' in message)) return '';
  if (typeof message.content === 'string') return message.content;
  const parts = ContentParts.safeParse(message.content);
  return parts.success ? parts.data.flatMap((p) => (p.type === 'text' && p.text !== undefined ? [p.text] : [])).join('\n') : '';
};

/** The media types of a request's image parts, in order ("image/png", …). */
export function imagesOf(body: ChatCompletionRequestBody): string[] {
  return body.messages.flatMap((m) => {
    const parts = 'content' in m ? ContentParts.safeParse(m.content) : null;
    if (parts?.success !== true) return [];
    return parts.data.flatMap((p) => (p.type === 'image_url' && p.image_url !== undefined ? [/^data:([^;,]+)/.exec(p.image_url.url)?.[1] ?? 'url'] : []));
  });
}

/**
 * Why a message's content is not one real servers take, or null: parts must be text parts with
 * `text` or image parts whose `image_url.url` is a data URI or http(s) URL; the real servers'
 * request validation refuses anything else with a 400 (the fake's wording is its own).
 */
export function contentProblem(content: unknown): string | null {
  if (content === undefined || content === null || typeof content === 'string') return null;
  const parts = ContentParts.safeParse(content);
  if (!parts.success) return 'content must be a string or an array of content parts';
  for (const [i, part] of parts.data.entries()) {
    if (part.type === 'text' && typeof part.text === 'string') continue;
    if (part.type === 'image_url' && part.image_url !== undefined && /^(data:image\/[\w.+-]+;base64,[A-Za-z0-9+/=]+$|https?:\/\/)/.test(part.image_url.url)) continue;
    return `content part ${i} is not a valid text or image_url part`;
  }
  return null;
}
