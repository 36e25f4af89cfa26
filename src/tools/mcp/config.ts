/**
 * The MCP server list, validated with zod. Accepted as a JSON array of servers, or as the
 * `{ "mcpServers": { name: {...} } }` object that MCP server READMEs show, so their snippets paste in.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { errorMessage } from '../../text.js';

export const DEFAULT_MCP_RISK = 'high';
export const DEFAULT_MCP_CALL_TIMEOUT_S = 60;
// Generous: `npx -y some-server` downloads the package on its first start.
export const DEFAULT_MCP_CONNECT_TIMEOUT_S = 30;

const risk = z.enum(['low', 'medium', 'high'], { error: 'must be "low", "medium" or "high"' });
const seconds = (fallback: number) =>
  z.number({ error: 'must be a number of seconds' }).positive({ error: 'must be greater than 0' }).max(3_600, { error: 'must be at most 3600' }).default(fallback);
const stringMap = z.record(z.string(), z.string({ error: 'values must be strings' }));

const common = {
  // It prefixes tool names, which the model API limits to 64 of [a-zA-Z0-9_-].
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,32}$/, { error: 'must be 1-32 letters, digits, "_" or "-" (it prefixes the tool names)' }),
  /** Default high: what a third-party tool does is unknown, so it needs approval unless the admin says otherwise. */
  risk: risk.default(DEFAULT_MCP_RISK),
  /** Per-tool overrides of `risk`, keyed by the MCP tool name (e.g. read-only tools as "low"). */
  toolRisk: z.record(z.string(), risk).default({}),
  timeoutSeconds: seconds(DEFAULT_MCP_CALL_TIMEOUT_S),
  connectTimeoutSeconds: seconds(DEFAULT_MCP_CONNECT_TIMEOUT_S),
  /** Only these MCP tools are offered; absent means all of them. */
  tools: z.array(z.string().min(1)).min(1, { error: 'an empty allow-list would offer nothing; remove "tools" to offer all' }).optional(),
};

const StdioServerSchema = z.strictObject({
  ...common,
  transport: z.literal('stdio'),
  command: z.string().min(1, { error: 'must name the program to run' }),
  args: z.array(z.string()).default([]),
  /** Added to a minimal environment (PATH, HOME, …): the bot's own secrets are not passed on. */
  env: stringMap.default({}),
  cwd: z.string().min(1).optional(),
});

const HttpServerSchema = z.strictObject({
  ...common,
  transport: z.literal('http'),
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
  headers: stringMap.default({}),
});

const ServerSchema = z.discriminatedUnion('transport', [StdioServerSchema, HttpServerSchema], {
  error: 'needs "transport": "stdio" (with "command") or "http" (with "url")',
});

export type McpStdioServerConfig = z.output<typeof StdioServerSchema>;
export type McpHttpServerConfig = z.output<typeof HttpServerSchema>;
export type McpServerConfig = z.output<typeof ServerSchema>;
/** What an admin writes: defaults may be left out. */
export type McpServerInput = z.input<typeof ServerSchema>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const TYPE_ALIASES: Record<string, string> = { stdio: 'stdio', http: 'http', 'streamable-http': 'http', streamableHttp: 'http' };

/** Fills in `transport` from `type` (the README format's name for it) or from command/url. */
function normaliseServer(entry: unknown): unknown {
  if (!isRecord(entry) || 'transport' in entry) return entry;
  const { type, ...rest } = entry;
  if (typeof type === 'string') return { ...rest, transport: TYPE_ALIASES[type] ?? type };
  if ('command' in rest) return { ...rest, transport: 'stdio' };
  if ('url' in rest) return { ...rest, transport: 'http' };
  return entry;
}

function normalise(value: unknown): unknown {
  if (isRecord(value) && isRecord(value.mcpServers)) {
    return Object.entries(value.mcpServers).map(([name, server]) => (isRecord(server) ? normaliseServer({ name, ...server }) : server));
  }
  return Array.isArray(value) ? value.map(normaliseServer) : value;
}

const ServersSchema = z.preprocess(
  normalise,
  z
    .array(ServerSchema, { error: 'must be a JSON array of servers, or an object with "mcpServers"' })
    .superRefine((servers, ctx) => {
      const seen = new Set<string>();
      servers.forEach((server, index) => {
        const key = server.name.toLowerCase();
        if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `duplicate server name "${server.name}"` });
        seen.add(key);
      });
    }),
);

/** Validates a parsed server list; throws an Error listing every problem by path. */
export function parseMcpServers(value: unknown): McpServerConfig[] {
  const parsed = ServersSchema.safeParse(value);
  if (!parsed.success) throw new Error(`invalid MCP server configuration:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/**
 * Reads the setting as the lead's config holds it: JSON text (starting with "[" or "{"), or
 * the path of a JSON file. Unset or blank means no servers.
 */
export async function loadMcpServers(setting: string | undefined): Promise<McpServerConfig[]> {
  const text = setting?.trim() ?? '';
  if (text === '') return [];
  let json = text;
  if (!text.startsWith('[') && !text.startsWith('{')) {
    try {
      json = await readFile(text, 'utf8');
    } catch (err) {
      const code = err instanceof Error && 'code' in err ? String(err.code) : 'unreadable';
      throw new Error(`cannot read the MCP server file ${JSON.stringify(text)} (${code}); give JSON or the path of a JSON file`, { cause: err });
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(json) as unknown;
  } catch (err) {
    throw new Error(`the MCP server configuration is not valid JSON: ${errorMessage(err)}`, { cause: err });
  }
  return parseMcpServers(value);
}

/**
 * Header and environment values of MCP servers given inline (tokens, mostly), so the logger
 * scrubs them; short values are left alone (they would scrub ordinary words). A file path's
 * contents are not read here.
 */
export function mcpSecretValues(setting: string | undefined): string[] {
  if (setting === undefined || !/^\s*[[{]/.test(setting)) return [];
  const found: string[] = [];
  const walk = (value: unknown, secret: boolean): void => {
    if (typeof value === 'string') {
      if (secret && value.length >= 8) found.push(value);
    } else if (Array.isArray(value)) {
      for (const item of value) walk(item, secret);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) walk(item, secret || key === 'headers' || key === 'env');
    }
  };
  try {
    walk(JSON.parse(setting), false);
  } catch {
    return [];
  }
  return found;
}
