import type { ChatMessage, ImagePart } from '../llm/types.js';
import { filesBlock, filesRule, type PlacedFile } from './run-files.js';

export interface PromptInputs {
  goal: string;
  maxSteps: number;
  now: Date;
  timeZone: string;
  /** Earlier turns of a conversation (chat mode), oldest first. */
  history: readonly ChatMessage[];
  /** Recalled memory for this run (working blocks, lessons, relevant memories). */
  memory: string | null;
  /** What the caller adds to the instructions (a scheduled run's previous report, say). */
  briefing?: string | null;
  /** The operator's instructions for where the run happens (a server's or channel's settings). */
  instructions?: string | null;
  /** Files given with the request, as they landed in the workspace (src/agent/run-files.ts). */
  files?: readonly PlacedFile[];
  /** Images the model sees, sent with the goal message. */
  images?: readonly ImagePart[];
}

/** Heads the operator's instructions: below the rules, which they cannot override. */
export const OPERATOR_HEADING = "# Operator's instructions (from this server's admins; the rules above come first)";

/** The operator's instructions as a prompt section, or nothing. */
export function operatorSection(inputs: Pick<PromptInputs, 'instructions'>): string[] {
  const text = inputs.instructions?.trim() ?? '';
  return text === '' ? [] : ['', OPERATOR_HEADING, text];
}

/**
 * The goal as a user message: its words, then the list of files given with it (their names and
 * first lines are other people's text, so they go here and never in the system prompt), with the
 * images the model sees. The prompt fitter never cuts this message.
 */
export function goalMessage(inputs: Pick<PromptInputs, 'images' | 'files'>, goal: string): ChatMessage {
  const images = inputs.images ?? [];
  const files = filesBlock(inputs.files ?? []);
  const content = files === '' ? goal : `${goal}\n\n${files}`;
  return images.length === 0 ? { role: 'user', content } : { role: 'user', content, images: [...images] };
}

/** The fixed start of every run's prompt: instructions, earlier conversation, then the goal. */
export function buildHead(inputs: PromptInputs): ChatMessage[] {
  const system = [
    "You are Cairn, an autonomous agent. You work toward the user's goal step by step: decide what to do next, call a tool when you need information or need to act, and read each result before the next step.",
    'Rules:',
    '- Use tools only when they help, and never invent a tool result.',
    '- When a tool returns an error, read it and correct your call.',
    '- Do not repeat a call that already gave you its answer.',
    '- When the goal is met, or cannot be met, reply with your final answer as plain text and no tool call: what you found or did, and if you could not finish, why.',
    `Context: it is ${inputs.now.toISOString()} (server time zone ${inputs.timeZone}). You have at most ${inputs.maxSteps} steps. File tools work in a workspace directory kept for this run.`,
    // Before the memory section: the prompt fitter never cuts what comes before it.
    ...operatorSection(inputs),
    ...filesRule(inputs.files ?? []),
    ...(inputs.memory === null ? [] : ['', inputs.memory]),
    ...(inputs.briefing == null ? [] : ['', inputs.briefing]),
  ].join('\n');
  return [{ role: 'system', content: system }, ...inputs.history, goalMessage(inputs, inputs.goal)];
}

export const LAST_STEP_NOTE =
  'This is your last step: the step limit is reached. Reply now with your final answer as plain text (no tool calls), including what is still unfinished.';

export const EMPTY_REPLY_NOTE =
  'Your last reply was empty. Either call a tool or reply with your final answer as plain text.';

/** A reply with reasoning but no answer: usually the model spent its output tokens thinking. */
export const REASONING_ONLY_NOTE =
  'Your last reply had reasoning but no answer (you may have run out of output tokens). Reason briefly, then either call a tool or reply with your final answer as plain text.';
