/**
 * The tool registry: validates declarations at registration, offers JSON schemas to the model,
 * and runs calls so that every failure becomes an observation the model can act on. `run`
 * never throws; the agent loop sends `content` back as the tool message either way.
 */
import { z } from 'zod';
import type { ToolCall, ToolSpec } from '../llm/types.js';
import {
  describeFields,
  formatIssues,
  invalidJsonMessage,
  renderOutput,
  suggestName,
  truncateMiddle,
} from './format.js';
import type { Tool, ToolContext, ToolErrorKind, ToolOutcome } from './types.js';

export { defineTool } from './define.js';

export interface ToolRegistryOptions {
  /** Longer output is cut, keeping head and tail (default 8000). */
  maxOutputChars?: number;
}

export const DEFAULT_MAX_OUTPUT_CHARS = 8000;

/** Tool names as the Chat Completions API accepts them. */
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const RISK_LEVELS: readonly unknown[] = ['low', 'medium', 'high'];

interface Entry {
  tool: Tool;
  parameters: Record<string, unknown>;
  /** One-line summary of the expected fields, for argument errors. */
  fields: string;
}

type Attempt = { ok: true; content: string } | { ok: false; kind: ToolErrorKind; message: string; content: string };

function fail(kind: ToolErrorKind, message: string, content: string): Attempt {
  return { ok: false, kind, message, content };
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : 'unknown error';
}

/** Converts the input schema once; the model needs an object at the top level. */
function toParameters(tool: Tool): Record<string, unknown> {
  let schema: Record<string, unknown>;
  try {
    // "input" so that fields with defaults stay optional for the model.
    schema = z.toJSONSchema(tool.input, { io: 'input' });
  } catch (err) {
    throw new Error(`tool "${tool.name}": its input schema cannot be converted to JSON schema: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  if (schema.type !== 'object') {
    throw new Error(`tool "${tool.name}": the input schema must be a zod object (the model always sends an object of named arguments)`);
  }
  const { $schema: _ignored, ...parameters } = schema;
  return withoutSafeIntegerBounds(parameters) as Record<string, unknown>;
}

/**
 * zod states `.int()` as "maximum": 9007199254740991 (and the negative minimum): no bound a model
 * needs, but ~10 tokens a field on every request. The registry still checks the real schema.
 */
function withoutSafeIntegerBounds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutSafeIntegerBounds);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if ((key === 'maximum' && value === Number.MAX_SAFE_INTEGER) || (key === 'minimum' && value === Number.MIN_SAFE_INTEGER)) continue;
    out[key] = withoutSafeIntegerBounds(value);
  }
  return out;
}

export class ToolRegistry {
  readonly #entries = new Map<string, Entry>();
  readonly #maxOutputChars: number;

  constructor(tools: Tool[] = [], options: ToolRegistryOptions = {}) {
    const max = options.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS;
    // Below this the truncation note and tail would crowd out the output itself.
    if (!Number.isInteger(max) || max < 200) throw new Error(`maxOutputChars must be an integer of at least 200, got ${max}`);
    this.#maxOutputChars = max;
    for (const tool of tools) this.register(tool);
  }

  register(tool: Tool): void {
    if (!TOOL_NAME.test(tool.name)) {
      throw new Error(`invalid tool name ${JSON.stringify(tool.name)}: use 1-64 letters, digits, "_" or "-"`);
    }
    if (this.#entries.has(tool.name)) throw new Error(`a tool named "${tool.name}" is already registered`);
    // Approvals rank the risk: anything else would slip past them.
    if (!RISK_LEVELS.includes(tool.risk)) throw new Error(`tool "${tool.name}": risk must be low, medium or high, got ${JSON.stringify(tool.risk)}`);
    if (tool.description.trim() === '') throw new Error(`tool "${tool.name}" needs a description: the model chooses tools by it`);
    const parameters = toParameters(tool);
    this.#entries.set(tool.name, { tool, parameters, fields: describeFields(parameters) });
  }

  get(name: string): Tool | undefined {
    return this.#entries.get(name)?.tool;
  }

  list(): Tool[] {
    return [...this.#entries.values()].map((entry) => entry.tool);
  }

  /**
   * The same tools less `names` (tools a server or channel turned off), with the same limits. A
   * model that calls a left-out tool gets the registry's "unknown tool" answer, listing the rest.
   */
  without(names: readonly string[]): ToolRegistry {
    const rest = new ToolRegistry([], { maxOutputChars: this.#maxOutputChars });
    // The entries are shared as they are: their schemas were converted and checked at registration.
    for (const [name, entry] of this.#entries) if (!names.includes(name)) rest.#entries.set(name, entry);
    return rest;
  }

  specs(): ToolSpec[] {
    // structuredClone so a caller mutating a spec cannot corrupt the cached schema.
    return [...this.#entries.values()].map(({ tool, parameters }) => ({
      name: tool.name,
      description: tool.description,
      parameters: structuredClone(parameters),
    }));
  }

  async run(call: ToolCall, context: ToolContext): Promise<ToolOutcome> {
    const started = performance.now();
    let attempt: Attempt;
    try {
      attempt = await this.#attempt(call, context);
    } catch (err) {
      // Defensive: #attempt handles its own failures, but run must never throw.
      attempt = fail('tool_error', errorMessage(err), `Error: ${call.name} failed: ${errorMessage(err)}`);
    }
    const { text, truncated } = truncateMiddle(attempt.content, this.#maxOutputChars);
    const durationMs = Math.round((performance.now() - started) * 10) / 10;
    if (attempt.ok) return { ok: true, content: text, truncated, durationMs };
    return { ok: false, content: text, truncated, durationMs, error: { kind: attempt.kind, message: attempt.message } };
  }

  async #attempt(call: ToolCall, context: ToolContext): Promise<Attempt> {
    const entry = this.#entries.get(call.name);
    if (!entry) return this.#unknownTool(call.name);
    const { tool, fields } = entry;
    if (context.signal.aborted) return aborted(tool.name);

    const raw = call.arguments.trim();
    let parsed: unknown;
    try {
      // Models send "" (and some send "null") for tools without arguments.
      parsed = raw === '' ? {} : JSON.parse(raw);
    } catch (err) {
      const message = invalidJsonMessage(tool.name, raw, errorMessage(err), fields);
      return fail('invalid_arguments', message, `Error: ${message}`);
    }
    if (parsed === null) parsed = {};

    const result = await tool.input.safeParseAsync(parsed, { reportInput: true });
    if (!result.success) {
      const problems = formatIssues(result.error.issues, fields);
      const message = `invalid arguments for ${tool.name}: ${problems}`;
      return fail('invalid_arguments', message, `Error: ${message}. Fix the arguments and call ${tool.name} again.`);
    }
    if (isAborted(context.signal)) return aborted(tool.name);

    let value: unknown;
    try {
      value = await invokeUntilAborted(tool, result.data, context);
    } catch (err) {
      if (isAborted(context.signal)) return aborted(tool.name);
      const message = scrubHostPath(errorMessage(err), context.workspaceDir);
      // A failing tool is routine (the model reads the error and corrects itself): info, not warn.
      context.log.info({ tool: tool.name, callId: call.id, err }, 'tool failed');
      return fail('tool_error', message, `Error: ${tool.name} failed: ${message}`);
    }

    try {
      return { ok: true, content: renderOutput(value) };
    } catch (err) {
      const message = `it returned a value that cannot be shown as JSON (${errorMessage(err)})`;
      context.log.warn({ tool: tool.name, callId: call.id, err }, 'tool output not serialisable');
      return fail('tool_error', message, `Error: ${tool.name} failed: ${message}`);
    }
  }

  #unknownTool(name: string): Attempt {
    const names = [...this.#entries.keys()].sort();
    const shown = name.length > 80 ? `${name.slice(0, 80)}…` : name;
    const available = names.length > 0 ? `Available tools: ${names.join(', ')}.` : 'No tools are available.';
    const suggestion = suggestName(name, names);
    const hint = suggestion === undefined ? '' : ` Did you mean "${suggestion}"?`;
    const message = `there is no tool named ${JSON.stringify(shown)}`;
    return fail('unknown_tool', message, `Error: ${message}.${hint} ${available}`);
  }
}

/** A call, not a property read, so narrowing from an earlier check does not stick across awaits. */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

function aborted(name: string): Attempt {
  const message = `${name} was cancelled because the run was aborted`;
  return fail('aborted', message, `Error: ${message}.`);
}

/**
 * Runs the handler but stops waiting as soon as the signal fires: a handler that ignores its
 * signal must not hold the run hostage. Its eventual result or failure is dropped.
 */
async function invokeUntilAborted(tool: Tool, args: unknown, context: ToolContext): Promise<unknown> {
  const { signal } = context;
  // The executor turns a synchronous throw in a non-async handler into a rejection.
  const work = new Promise<unknown>((resolve) => {
    resolve(tool.run(args, context));
  });
  void work.catch(() => undefined);
  let onAbort = (): void => undefined;
  const abortedPromise = new Promise<never>((_resolve, reject) => {
    onAbort = () => {
      reject(new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, abortedPromise]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Last line of defence against handlers echoing a host path (e.g. raw fs errors) to the model. */
function scrubHostPath(message: string, workspaceDir: string): string {
  if (workspaceDir === '' || workspaceDir === '/') return message;
  const dir = workspaceDir.endsWith('/') ? workspaceDir.slice(0, -1) : workspaceDir;
  const escaped = dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // Only whole path components: "/tmp/ws" must not eat the start of "/tmp/ws2".
  return message.replaceAll(`${dir}/`, '').replace(new RegExp(`${escaped}(?![\\w.-])`, 'g'), '.');
}
