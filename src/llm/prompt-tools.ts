/**
 * Tool calling through the prompt, for servers and models that refuse `tools`
 * (../shared/notes/model-servers.md §2: Ollama's "does not support tools", vLLM without
 * --enable-auto-tool-choice, llama.cpp without --jinja, OpenRouter models without tool support).
 * The tools are described in the system message, and the model answers with one JSON action per
 * reply (tool-actions.ts); the action comes back as an ordinary ChatResponse, with `toolCalls` or
 * an answer, so the agent loop runs exactly as with native calls. Requests without tools
 * (structured output, change comparisons) pass through untouched.
 */
import { LlmError } from './errors.js';
import { ACTION_FORMAT, isProse, parseAction } from './tool-actions.js';
import type { ChatMessage, ChatModel, ChatRequest, ChatResponse, ImagePart, TokenUsage, ToolSpec } from './types.js';
import { fallbackToolCallId } from './wire.js';

/** Corrective round trips after an invalid action, before giving up (each quotes the problem). */
export const MAX_CORRECTIONS = 2;

/** The system-prompt section that stands in for the `tools` parameter. */
export function toolsSection(tools: readonly ToolSpec[]): string {
  const lines = tools.map((tool) => `- ${tool.name}: ${tool.description.trim()}\n  arguments (JSON schema): ${JSON.stringify(tool.parameters)}`);
  return [
    '## Tools',
    'You call tools by writing JSON actions; the tools you can call are:',
    ...lines,
    '',
    '## How to reply',
    'Every reply is exactly one JSON object and nothing else, either',
    ACTION_FORMAT,
    'Call one tool per reply, then wait: its result comes back as a message starting "Observation from <tool name>:". ' +
      'Never write an observation yourself. Wherever your instructions say to answer in plain text or without a tool call, use the "final" action.',
  ].join('\n');
}

/** The reminder sent back after an invalid action, with the exact problem. */
export function correctionFor(problem: string): string {
  return `Observation: your last reply is not a valid action: ${problem}. Reply with exactly one JSON object and no other text:\n${ACTION_FORMAT}`;
}

/** Arguments as the JSON value they hold, so the history shows the action the model wrote. */
function argumentsValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The history as plain turns: servers in this mode may refuse `role: tool` messages and
 * assistant `tool_calls` as they refuse `tools`. An assistant's calls become the actions it
 * wrote; each result becomes a user turn "Observation from <tool>: …". Consecutive turns of one
 * role are merged, because chat templates such as Mistral's and Gemma's raise "Conversation roles
 * must alternate user/assistant/user/assistant/..." on two user turns in a row.
 */
export function toPromptMessages(messages: readonly ChatMessage[], tools: readonly ToolSpec[]): ChatMessage[] {
  const toolOf = new Map<string, string>();
  const section = toolsSection(tools);
  const out: ChatMessage[] = [];
  const push = (role: 'user' | 'assistant', content: string, images: readonly ImagePart[] = []): void => {
    const last = out.at(-1);
    // A merged user turn keeps the images of both (the goal's images must not be lost here).
    const carried = [...(last?.role === 'user' ? (last.images ?? []) : []), ...images];
    const withImages = role === 'user' && carried.length > 0 ? { images: carried } : {};
    if (last !== undefined && last.role === role) out[out.length - 1] = { role, content: `${last.content ?? ''}\n\n${content}`, ...withImages };
    else out.push({ role, content, ...(role === 'user' && images.length > 0 ? { images: [...images] } : {}) });
  };
  let described = false;
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        out.push({ role: 'system', content: described ? message.content : `${message.content}\n\n${section}` });
        described = true;
        break;
      case 'user':
        push('user', message.content, message.images);
        break;
      case 'tool':
        push('user', `Observation from ${toolOf.get(message.toolCallId) ?? 'the tool'}: ${message.content}`);
        break;
      case 'assistant': {
        const calls = message.toolCalls ?? [];
        for (const call of calls) toolOf.set(call.id, call.name);
        const text =
          calls.length > 0
            ? calls.map((c) => JSON.stringify({ action: 'call', tool: c.name, arguments: argumentsValue(c.arguments) })).join('\n')
            : JSON.stringify({ action: 'final', answer: message.content ?? '' });
        push('assistant', text);
        break;
      }
    }
  }
  return described ? out : [{ role: 'system', content: section }, ...out];
}

function addUsage(total: TokenUsage, reply: ChatResponse): void {
  total.promptTokens += reply.usage.promptTokens;
  total.completionTokens += reply.usage.completionTokens;
}

/** A ChatModel that offers tools through the prompt, over any ChatModel (the real client). */
export class PromptToolsModel implements ChatModel {
  constructor(private readonly inner: ChatModel) {}

  get model(): string {
    return this.inner.model;
  }

  async chat(request: ChatRequest): Promise<ChatResponse> {
    const tools = request.tools ?? [];
    if (tools.length === 0) return this.inner.chat(request);
    // The JSON action is not the answer, so nothing is streamed while it is written; a final
    // answer is handed on in one piece. `response_format: json_object` is not asked for: not
    // every server takes it (LM Studio before 0.3.18 refused all but json_schema: notes §4).
    const { tools: _tools, onTextDelta, ...rest } = request;
    const offered = new Set(tools.map((t) => t.name));
    const base = toPromptMessages(request.messages, tools);
    const usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
    let estimated = false;
    let messages = base;
    let problem = '';
    let last: ChatResponse | undefined;
    for (let round = 0; round <= MAX_CORRECTIONS; round++) {
      const reply = await this.inner.chat({ ...rest, messages });
      addUsage(usage, reply);
      estimated ||= reply.usageEstimated;
      last = reply;
      const totals = { usage: { ...usage }, usageEstimated: estimated };
      // Native calls despite no `tools` (a server that parses the template anyway): taken as they are.
      if (reply.toolCalls.length > 0) return { ...reply, ...totals };
      // No answer at all (reasoning only, or empty): the agent has its own note for that.
      if (reply.content === null) return { ...reply, ...totals };
      const parsed = parseAction(reply.content, offered);
      if (parsed.ok && 'calls' in parsed) {
        const toolCalls = parsed.calls.map((c) => ({ id: fallbackToolCallId(), name: c.tool, arguments: c.arguments }));
        return { ...reply, ...totals, content: parsed.thought ?? null, toolCalls, finishReason: 'tool_calls' };
      }
      if (parsed.ok) {
        onTextDelta?.(parsed.action.answer);
        return { ...reply, ...totals, content: parsed.action.answer };
      }
      problem = parsed.problem;
      messages = [...base, { role: 'assistant', content: reply.content }, { role: 'user', content: correctionFor(problem) }];
    }
    // Prose after every reminder is the model's answer in its own words; broken JSON is not.
    if (last?.content != null && isProse(last.content)) {
      onTextDelta?.(last.content);
      return { ...last, usage, usageEstimated: estimated };
    }
    throw new LlmError(
      'malformed_output',
      `The model did not reply with a valid action after ${MAX_CORRECTIONS} corrections (its tools are described in the prompt, see CAIRN_TOOL_CALLING): ${problem}.`,
      { attempts: MAX_CORRECTIONS + 1 },
    );
  }
}
