/**
 * The model-facing vocabulary shared by the agent, tools and LLM client. Provider-neutral:
 * the client maps these to and from Chat Completions wire types.
 */

/** A tool call as the model emitted it; `arguments` is the raw JSON text, validated later. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * An image sent to the model with a user message, as base64 bytes (never a URL: Ollama and LM
 * Studio take only data URIs, ../shared/notes/model-servers.md §8). Sent as a Chat Completions
 * `image_url` content part; see src/llm/vision.ts for which models get them.
 */
export interface ImagePart {
  /** image/png, image/jpeg, image/gif or image/webp. */
  mimeType: string;
  /** The bytes, base64-encoded. */
  data: string;
  /** The file's name in the run's workspace, for the note when a server refuses the image. */
  name?: string;
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string; images?: ImagePart[] }
  | { role: 'assistant'; content: string | null; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolCallId: string; content: string };

/** A tool as offered to the model: JSON schema parameters derived from the tool's zod schema. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

/**
 * A run's budget as seen by a model call made outside its loop (memory_search's query rewriting):
 * asked before the call with the prompt's estimated size, charged with what the call used.
 */
export interface ModelSpend {
  allows(estimatedPromptTokens: number): boolean;
  charge(usage: TokenUsage): void;
}

export interface ChatRequest {
  messages: ChatMessage[];
  tools?: ToolSpec[];
  /** Cancels the request, including retries and backoff waits. */
  signal?: AbortSignal;
  /**
   * When set, the reply is streamed and each fragment of the answer is passed here as it arrives
   * (reasoning is not: `<think>` text is held back and taken out).
   */
  onTextDelta?: (text: string) => void;
  temperature?: number;
  maxOutputTokens?: number;
  /**
   * Ask for a JSON reply matching this JSON schema (Chat Completions `response_format`). `type`
   * `json_object` asks only for some JSON, for servers that refuse `json_schema` (the schema must
   * then be in the messages; src/llm/structured.ts does that). Default `json_schema`.
   */
  responseFormat?: { name: string; schema: Record<string, unknown>; type?: 'json_schema' | 'json_object' };
}

export interface ChatResponse {
  /**
   * The answer the model wrote, without its reasoning (see `reasoning`); alongside tool calls,
   * what it said about them. Null when there is none (a reasoning-only reply is not an answer).
   */
  content: string | null;
  /**
   * The model's reasoning: from the server's `reasoning` / `reasoning_content` field and from
   * `<think>`-style tags taken out of the content (src/llm/reasoning.ts). Shown as reasoning,
   * never sent back to the model or kept as an answer. Null when there was none.
   */
  reasoning: string | null;
  toolCalls: ToolCall[];
  usage: TokenUsage;
  /** True when the server sent no usage and the numbers were estimated from text length. */
  usageEstimated: boolean;
  finishReason: string;
  model: string;
}

/** What the agent needs from a chat model. The OpenAI-compatible client implements it. */
export interface ChatModel {
  readonly model: string;
  chat(request: ChatRequest): Promise<ChatResponse>;
  /**
   * Estimated tokens these tools take in a request as this model sends them (as `tools`, or
   * described in the prompt): a model that rewrites requests says so, so prompts can be fitted.
   */
  toolTokens?(tools: readonly ToolSpec[]): number;
}
