/** Helpers for the conversation tests: what the model was sent, and Cairn's answers. */
import type { FakeDiscord, FakeMessage } from '../../fakes/discord/index.js';
import type { ChatCompletionRequestBody, FakeOpenAi } from '../../fakes/openai-server.js';

export interface SentMessage {
  role: string;
  content: string;
}

/** The messages of a request, as text. */
export function sent(body: ChatCompletionRequestBody | undefined): SentMessage[] {
  return (body?.messages ?? []).map((m) => ({ role: m.role, content: typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? '') }));
}

/** The earlier turns of a run's first request: between the system prompt and the goal. */
export function earlierTurns(body: ChatCompletionRequestBody | undefined): SentMessage[] {
  return sent(body).slice(1, -1);
}

/** The goal: the last user message of a run's first request. */
export function goalOf(body: ChatCompletionRequestBody): string {
  return sent(body).filter((m) => m.role === 'user').at(-1)?.content ?? '';
}

/** A model that answers each message with "Answer to: <goal>" (one call per run, no tools). */
export function echoModel(openai: FakeOpenAi, answer: (goal: string, body: ChatCompletionRequestBody) => string = (goal) => `Answer to: ${goal}`): void {
  openai.respondWith((body) => ({ kind: 'text', content: answer(goalOf(body), body) }));
}

/** The request whose goal is `goal` (the run answering that message). */
export function requestFor(openai: FakeOpenAi, goal: string): ChatCompletionRequestBody | undefined {
  return openai.chatRequests().find((b) => goalOf(b) === goal);
}

/** Cairn's message in `channelId` whose content includes `text`. */
export function cairnSaid(discord: FakeDiscord, channelId: string, text: string): Promise<FakeMessage> {
  return discord.waitFor(() => discord.channelMessages(channelId).find((m) => m.authorId === discord.botUserId && m.content.includes(text)));
}

/** Waits a little and checks nothing happened meanwhile (for "Cairn stays silent"). */
export async function quietFor(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}
