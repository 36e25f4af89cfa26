import type { Logger } from 'pino';
import type { RunScope, Visibility } from '../memory/types.js';
import type { z } from 'zod';
import type { OutgoingFile } from '../files/types.js';
import type { ModelSpend } from '../llm/types.js';

/** How much harm a tool can do; high-risk tools will need approval (see README). */
export type RiskLevel = 'low' | 'medium' | 'high';

/** What a tool handler gets besides its validated arguments. */
export interface ToolContext {
  runId: string;
  /** Absolute path of the run's workspace directory; file tools are confined to it. */
  workspaceDir: string;
  signal: AbortSignal;
  log: Logger;
  /** Who the run acts for and where; memory tools need it. */
  scope?: RunScope;
  /** The run's visibility: in a private run every memory write is private. Default: channel where there is one. */
  visibility?: Visibility;
  /**
   * Whether a request may go to this host without the person's approval, asked at the moment of
   * sending (the exposure guard, src/agent/exposure.ts): http tools consult it before following
   * a redirect to another host. Absent: any host.
   */
  mayReach?: (host: string) => boolean;
  /**
   * Attaches a workspace file to the run's answer (attach_file). Throws, with words for the model,
   * when the run has attached all it may. Absent where nothing can receive files.
   */
  attach?: (file: OutgoingFile) => AttachResult;
  /**
   * The run's token and cost budget, for a model call a tool makes itself (memory_search's query
   * rewriting). Absent: the caller allows no such call, and the tool makes none.
   */
  modelSpend?: ModelSpend;
}

/** What attaching a file did: the name it is posted under, and how many the run has attached. */
export interface AttachResult {
  name: string;
  /** The path was attached before: it keeps its place and name. */
  already: boolean;
  count: number;
  max: number;
}

/**
 * A tool is declared once: the zod schema validates arguments and is converted to the JSON
 * schema the model sees. The handler returns text, or a JSON-serialisable value.
 */
export interface Tool<Input extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  input: Input;
  risk: RiskLevel;
  /**
   * What it returns may hold text written by someone other than the person the run is for (web
   * pages, search results, another service's data). Reading it exposes the run (src/agent/exposure.ts).
   */
  untrustedOutput?: boolean;
  /**
   * It sends data out over the network. `url`: to the host of its `url` argument; `opaque`: to
   * wherever it decides (an MCP server and what lies behind it). Exposed runs need approval for it.
   */
  egress?: Egress;
  /**
   * Safe to run again when a restart cut a call short (src/agent/journal.ts): it only reads (files,
   * the time, a search, a GET) or its effect does not add up when repeated. Without it, a call the
   * process died in is reported to the model as interrupted with an unknown outcome.
   */
  idempotent?: boolean;
  run(args: z.output<Input>, context: ToolContext): Promise<unknown>;
}

export type Egress = 'url' | 'opaque';

/** `denied`: the call needed a person's approval and did not get it. */
export type ToolErrorKind = 'unknown_tool' | 'invalid_arguments' | 'tool_error' | 'aborted' | 'denied' | 'interrupted';

/** The outcome of one tool call; `content` is exactly what the model is shown. */
export interface ToolOutcome {
  ok: boolean;
  content: string;
  truncated: boolean;
  durationMs: number;
  error?: { kind: ToolErrorKind; message: string };
}
