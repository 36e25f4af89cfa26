/**
 * Turns one MCP tool into a Cairn Tool: a prefixed, API-safe name, a zod input converted from
 * its JSON schema (so the registry validates arguments exactly as for built-in tools), the
 * configured risk, and a result rendered as text, with isError becoming a thrown Error.
 */
import { createHash } from 'node:crypto';
import { CallToolResultSchema, type ContentBlock, type Tool as McpToolDefinition } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { defineTool } from '../define.js';
import type { RiskLevel, Tool } from '../types.js';
import { errorMessage } from '../../text.js';

/** Calls a tool on the server; `args` already passed the registry's validation. */
export type McpCall = (tool: string, args: Record<string, unknown>, signal: AbortSignal) => Promise<unknown>;

export interface McpToolOwner {
  name: string;
  risk: RiskLevel;
  toolRisk: Record<string, RiskLevel>;
}

export type Adapted = { ok: true; tool: Tool } | { ok: false; reason: string };

const MAX_NAME = 64;
/** Some servers ship essay-length descriptions; every one is sent with every model request. */
const MAX_DESCRIPTION_CHARS = 2_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `<server>__<tool>` with anything outside [a-zA-Z0-9_-] replaced by "_". Too long a name keeps
 * its start plus a hash of the whole, so two long names sharing a prefix stay distinct.
 */
export function mcpToolName(server: string, tool: string): string {
  const name = `${server}__${tool}`.replace(/[^a-zA-Z0-9_-]/g, '_');
  if (name.length <= MAX_NAME) return name;
  const hash = createHash('sha256').update(`${server}\0${tool}`).digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_NAME - hash.length - 1)}_${hash}`;
}

function describe(server: string, definition: McpToolDefinition): string {
  const own = (definition.description ?? definition.title ?? '').trim();
  const text = own === '' ? `The "${definition.name}" tool.` : own;
  const full = `[MCP server "${server}"] ${text}`;
  return full.length <= MAX_DESCRIPTION_CHARS ? full : `${full.slice(0, MAX_DESCRIPTION_CHARS - 1)}…`;
}

/** The zod input for a JSON schema, or the reason it cannot be one the registry accepts. */
function inputFrom(schema: McpToolDefinition['inputSchema']): { ok: true; input: z.ZodType } | { ok: false; reason: string } {
  let input: z.ZodType;
  try {
    input = z.fromJSONSchema(schema as z.core.JSONSchema.JSONSchema);
    // The registry converts back for the model: a schema that cannot make the round trip is unusable.
    const roundTrip = z.toJSONSchema(input, { io: 'input' });
    if (roundTrip.type !== 'object') return { ok: false, reason: 'its input schema is not an object schema' };
  } catch (err) {
    return { ok: false, reason: `its input schema cannot be converted: ${errorMessage(err)}` };
  }
  return { ok: true, input };
}

function kilobytes(base64: string): string {
  const bytes = Math.floor((base64.length * 3) / 4);
  return bytes < 1024 ? `${bytes} bytes` : `${(bytes / 1024).toFixed(1)} KB`;
}

/** Text parts verbatim; anything else as one descriptive line (the model cannot see binary data). */
function describeContent(part: ContentBlock): string {
  switch (part.type) {
    case 'text':
      return part.text;
    case 'image':
      return `[image: ${part.mimeType}, ${kilobytes(part.data)}]`;
    case 'audio':
      return `[audio: ${part.mimeType}, ${kilobytes(part.data)}]`;
    case 'resource_link':
      return `[resource link: ${part.name} <${part.uri}>${part.description === undefined ? '' : ` — ${part.description}`}]`;
    case 'resource': {
      const { resource } = part;
      const mime = resource.mimeType === undefined ? '' : `, ${resource.mimeType}`;
      if ('text' in resource) return `[resource: ${resource.uri}${mime}]\n${resource.text}`;
      return `[resource: ${resource.uri}${mime}, ${kilobytes(resource.blob)} of binary data]`;
    }
  }
}

/** What the model sees for a call result; throws for isError so the registry reports a tool error. */
export function renderCallResult(raw: unknown): unknown {
  // Protocol 2024-10-07 servers answer { toolResult } instead of content parts.
  if (isRecord(raw) && 'toolResult' in raw && !('content' in raw)) return raw.toolResult;
  const parsed = CallToolResultSchema.safeParse(raw);
  if (!parsed.success) throw new Error('the MCP server returned a result in an unexpected shape');
  const result = parsed.data;
  let text = result.content.map(describeContent).join('\n');
  if (text.trim() === '' && result.structuredContent !== undefined) text = JSON.stringify(result.structuredContent);
  if (result.isError === true) throw new Error(text.trim() === '' ? 'the tool reported an error without a message' : text);
  return text.trim() === '' ? '(the tool returned no output)' : text;
}

/** One MCP tool as a Cairn Tool, or the reason it cannot be offered. */
export function adaptMcpTool(owner: McpToolOwner, definition: McpToolDefinition, call: McpCall): Adapted {
  const converted = inputFrom(definition.inputSchema);
  if (!converted.ok) return converted;
  // Own keys only: a tool named "constructor" must not pick up Object.prototype's member as its risk.
  const risk = (Object.hasOwn(owner.toolRisk, definition.name) ? owner.toolRisk[definition.name] : undefined) ?? owner.risk;
  const tool = defineTool({
    name: mcpToolName(owner.name, definition.name),
    description: describe(owner.name, definition),
    input: converted.input,
    risk,
    // The operator rates read-only tools "low": those are run again after a restart cut a call short.
    idempotent: risk === 'low',
    // Cairn cannot see what a server does with the arguments or where its answers come from.
    untrustedOutput: true,
    egress: 'opaque',
    async run(args, context) {
      // Always true after validation against an object schema; narrows the type for callTool.
      if (!isRecord(args)) throw new Error('the arguments must be a JSON object');
      return renderCallResult(await call(definition.name, args, context.signal));
    },
  });
  return { ok: true, tool };
}
