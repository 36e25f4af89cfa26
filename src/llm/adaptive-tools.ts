/**
 * CAIRN_TOOL_CALLING: how tools reach the model. `native` sends `tools` (Chat Completions tool
 * calling); `prompt` describes them in the system message (prompt-tools.ts); `auto` starts native
 * and, the first time the server refuses tools for a model, moves that model to prompt mode for
 * the rest of the process and redoes the request, so the run never sees the refusal.
 */
import type { Logger } from '../log.js';
import { LlmError } from './errors.js';
import { PromptToolsModel, toolsSection } from './prompt-tools.js';
import type { ChatModel, ChatRequest, ChatResponse, ToolSpec } from './types.js';
import { estimateTextTokens } from './tokens.js';
import { toWireTool } from './wire.js';
import { contextOverflow } from './context-overflow.js';

export const TOOL_CALLING_SETTINGS = ['auto', 'native', 'prompt'] as const;
export type ToolCallingSetting = (typeof TOOL_CALLING_SETTINGS)[number];

/** Where a model stands, for `cairn doctor` and logs. */
export interface ToolCallingState {
  setting: ToolCallingSetting;
  /** How the next request with tools is sent. */
  mode: 'native' | 'prompt';
  /** In auto mode after a switch: the server's words that caused it. */
  reason: string | null;
}

/**
 * The servers' own words for "no tools here" (../shared/notes/model-servers.md §2 and §9):
 * - Ollama, 400: `<model> does not support tools` (server/images.go CheckCapabilities);
 * - vLLM, 400: `"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set`;
 * - llama.cpp without jinja, 500: `tools param requires --jinja flag` (ramalama#988);
 * - OpenRouter, 404: `No endpoints found that support tool use` and, for `tool_choice`,
 *   `No endpoints found that support the provided 'tool_choice' value` (fast-agent#122, zed#36094).
 */
const REFUSALS = /does not support tools|--enable-auto-tool-choice|requires --jinja|No endpoints found that support tool use|No endpoints found that support the provided 'tool_choice'/i;
/** Any other 400 (or 422) whose words name the parameters: the server will not take them either. */
const NAMES_TOOLS = /\btools\b|\btool_choice\b/i;

/**
 * The server's words when `err` is a refusal of tool calling, else null. Only the server's own
 * text (`LlmError.detail`) is read, never our message around it, which names things too.
 */
export function toolsRefusal(err: unknown): string | null {
  // A prompt too long for the window is not a refusal of tools, even if its words mention them.
  if (!(err instanceof LlmError) || err.detail === undefined || contextOverflow(err) !== null) return null;
  const words = err.detail;
  if (err.kind === 'bad_request' || err.kind === 'not_found' || err.kind === 'server_error') {
    if (REFUSALS.test(words)) return words;
  }
  return err.kind === 'bad_request' && NAMES_TOOLS.test(words) ? words : null;
}

/**
 * Model ids moved to prompt mode, with the words that moved them. One per process by default, so
 * every client built for the same model (the agent's, the reflector's) learns it once.
 */
export type PromptModeModels = Map<string, string>;
const PROCESS_PROMPT_MODE: PromptModeModels = new Map();

export interface ToolCallingOptions {
  setting: ToolCallingSetting;
  log: Logger;
  /** Where auto mode remembers its switches (default: one map for the process; tests pass their own). */
  switched?: PromptModeModels;
}

/** A ChatModel that sends tools the way the setting (and, in auto mode, the server) allows. */
export class ToolCallingModel implements ChatModel {
  private readonly prompt: PromptToolsModel;
  private readonly setting: ToolCallingSetting;
  private readonly log: Logger;
  private readonly switched: PromptModeModels;

  constructor(
    private readonly inner: ChatModel,
    options: ToolCallingOptions,
  ) {
    this.prompt = new PromptToolsModel(inner);
    this.setting = options.setting;
    this.log = options.log;
    this.switched = options.switched ?? PROCESS_PROMPT_MODE;
  }

  get model(): string {
    return this.inner.model;
  }

  get toolCalling(): ToolCallingState {
    const reason = this.setting === 'auto' ? (this.switched.get(this.model) ?? null) : null;
    const mode = this.setting === 'prompt' || reason !== null ? 'prompt' : 'native';
    return { setting: this.setting, mode, reason };
  }

  /** In prompt mode the tools travel as a section of the system prompt, larger than their JSON. */
  toolTokens(tools: readonly ToolSpec[]): number {
    if (tools.length === 0) return 0;
    const text = this.toolCalling.mode === 'prompt' ? toolsSection(tools) : JSON.stringify(tools.map(toWireTool));
    return estimateTextTokens(text.length);
  }

  async chat(request: ChatRequest): Promise<ChatResponse> {
    if ((request.tools?.length ?? 0) === 0) return this.inner.chat(request);
    if (this.toolCalling.mode === 'prompt') return this.prompt.chat(request);
    try {
      return await this.inner.chat(request);
    } catch (err) {
      const words = this.setting === 'auto' && request.signal?.aborted !== true ? toolsRefusal(err) : null;
      if (words === null) throw err;
      this.switchToPrompt(words, err);
      return this.prompt.chat(request);
    }
  }

  private switchToPrompt(words: string, err: unknown): void {
    // Concurrent runs may all meet the refusal; the first one logs it.
    if (this.switched.has(this.model)) return;
    this.switched.set(this.model, words);
    this.log.warn(
      { model: this.model, serverSaid: words, status: err instanceof LlmError ? err.status : undefined },
      'The model server refused tool calling for this model; from now on its tools are described in the prompt (CAIRN_TOOL_CALLING=auto). Set CAIRN_TOOL_CALLING=prompt to skip the first try.',
    );
  }
}
