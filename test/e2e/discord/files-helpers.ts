/** Helpers for the files tests: a model that works with files, and the bot configured for the fake CDN. */
import type { FakeDiscord } from '../../fakes/discord/index.js';
import type { ChatCompletionRequestBody, FakeOpenAi, ScriptedReply } from '../../fakes/openai-server.js';

/** The text of every message of a request (content parts joined). */
export function allText(body: ChatCompletionRequestBody): string {
  return body.messages.map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? ''))).join('\n');
}

/** All the text of the model request number `n` (0: the first), as the fake model saw it. */
export function requestText(openai: FakeOpenAi, n: number): string {
  const request = openai.chatRequests().at(n);
  if (request === undefined) throw new Error(`no model request ${n}`);
  return allText(request);
}

/** The content of the last tool message of a request, or undefined when the model has not called a tool yet. */
export function lastToolResult(body: ChatCompletionRequestBody): string | undefined {
  const last = body.messages.at(-1);
  if (last?.role !== 'tool') return undefined;
  return typeof last.content === 'string' ? last.content : JSON.stringify(last.content ?? '');
}

/**
 * A model that works like one would: first a tool call (`first`), then an answer computed from
 * what the tool returned (`answer`), never from anything the test knows.
 */
export function toolThenAnswer(openai: FakeOpenAi, first: (body: ChatCompletionRequestBody) => ScriptedReply, answer: (toolResult: string, body: ChatCompletionRequestBody) => string): void {
  openai.respondWith((body) => {
    const result = lastToolResult(body);
    return result === undefined ? first(body) : { kind: 'text', content: answer(result, body) };
  });
}

/** The bot's environment for these tests: attachments may come from the fake CDN's origin. */
export const cdnEnv = (extra: Record<string, string> = {}) => (discord: FakeDiscord) => ({ DISCORD_CDN_URL: discord.cdn.origin, ...extra });

/** A customers CSV: `churned` of them marked churned, the rest active. */
export function customersCsv(rows: { name: string; status: 'active' | 'churned' }[]): Buffer {
  return Buffer.from(['id,name,status', ...rows.map((r, i) => `${i + 1},${r.name},${r.status}`)].join('\n') + '\n');
}
