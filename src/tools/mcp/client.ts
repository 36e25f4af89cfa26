/**
 * Connects to the configured MCP servers at startup and offers their tools as Cairn tools. A
 * server that fails to start is logged with the reason and skipped: the bot runs without it.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError, type Tool as McpToolDefinition } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { Tool } from '../types.js';
import { adaptMcpTool, type McpCall } from './adapter.js';
import type { McpServerConfig } from './config.js';

export interface McpServerStatus {
  name: string;
  transport: 'stdio' | 'http';
  connected: boolean;
  /** Names of the Cairn tools it offers. */
  tools: string[];
  /** Why it is not connected. */
  error?: string;
}

export interface McpConnectOptions {
  /** Sent to servers in the initialize handshake. */
  clientName?: string;
  clientVersion?: string;
}

interface Connection {
  config: McpServerConfig;
  client: Client;
  transport: StdioClientTransport | StreamableHTTPClientTransport;
  definitions: McpToolDefinition[];
  tools: Tool[];
  connected: boolean;
  closing: boolean;
}

/** Bounds a misbehaving server's paginated tool list. */
const MAX_LIST_PAGES = 50;
const STDERR_TAIL_CHARS = 1_000;
// McpError.code is a plain number; typed as such so comparing it is not an enum comparison.
const CONNECTION_CLOSED: number = ErrorCode.ConnectionClosed;
const REQUEST_TIMEOUT: number = ErrorCode.RequestTimeout;

/** The innermost useful reason: fetch and spawn errors hide the code (ECONNREFUSED…) in `cause`. */
function reasonOf(err: unknown): string {
  const messages: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = 'code' in current && typeof current.code === 'string' ? current.code : undefined;
    const text = code !== undefined && !current.message.includes(code) ? `${current.message} (${code})` : current.message;
    if (text !== '' && !messages.some((m) => m.includes(text))) messages.push(text);
    current = current.cause;
  }
  return messages.length === 0 ? String(err) : messages.join(': ');
}

function createTransport(config: McpServerConfig): StdioClientTransport | StreamableHTTPClientTransport {
  if (config.transport === 'http') {
    return new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers: config.headers } });
  }
  // stderr is piped, not inherited: a chatty server must not garble the bot's log, and its last
  // words explain a failed start.
  return new StdioClientTransport({ command: config.command, args: config.args, env: config.env, cwd: config.cwd, stderr: 'pipe' });
}

function startFailure(config: McpServerConfig, err: unknown, timedOut: boolean, stderr: string): string {
  const said = stderr.trim() === '' ? '' : `; its last output: ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
  if (timedOut) return `it did not finish starting within ${config.connectTimeoutSeconds} s${said}`;
  const code = err instanceof Error && 'code' in err ? err.code : undefined;
  if (config.transport === 'stdio' && code === 'ENOENT') return `the command ${JSON.stringify(config.command)} was not found (check "command" and PATH)`;
  if (err instanceof StreamableHTTPError && err.code !== undefined) {
    const hints: Record<number, string> = { 401: ' (check the credentials in "headers")', 403: ' (check the credentials in "headers")', 404: ' (check the "url" path)' };
    return `the server answered HTTP ${err.code}${hints[err.code] ?? ''}: ${err.message}`;
  }
  if (err instanceof McpError && err.code === CONNECTION_CLOSED) {
    return config.transport === 'stdio' ? `the process exited before it finished starting${said}` : `the server closed the connection${said}`;
  }
  return `${reasonOf(err)}${said}`;
}

async function listAllTools(client: Client, signal: AbortSignal): Promise<McpToolDefinition[]> {
  const tools: McpToolDefinition[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_LIST_PAGES; page += 1) {
    const result = await client.listTools(cursor === undefined ? undefined : { cursor }, { signal });
    tools.push(...result.tools);
    cursor = result.nextCursor;
    if (cursor === undefined) break;
  }
  return tools;
}

/** One server connected and listed, or the reason it could not be. */
async function connectServer(config: McpServerConfig, log: Logger, options: McpConnectOptions): Promise<Connection | string> {
  const client = new Client({ name: options.clientName ?? 'cairn', version: options.clientVersion ?? '0.1.0' }, { capabilities: {} });
  const transport = createTransport(config);
  let stderr = '';
  const stderrStream = transport instanceof StdioClientTransport ? transport.stderr : null;
  stderrStream?.on('data', (chunk: Buffer | string) => {
    const text = chunk.toString();
    stderr = (stderr + text).slice(-STDERR_TAIL_CHARS);
    log.debug({ server: config.name, stderr: text.trimEnd() }, 'MCP server stderr');
  });
  const connection: Connection = { config, client, transport, definitions: [], tools: [], connected: false, closing: false };
  client.onerror = (err) => {
    log.debug({ server: config.name, err }, 'MCP transport error');
  };
  client.onclose = () => {
    if (connection.closing || !connection.connected) return;
    connection.connected = false;
    log.warn({ server: config.name }, `MCP server "${config.name}" disconnected; its tools fail until the bot restarts`);
  };

  const deadline = AbortSignal.timeout(config.connectTimeoutSeconds * 1000);
  try {
    await client.connect(transport, { signal: deadline, timeout: config.connectTimeoutSeconds * 1000 });
    connection.definitions = await listAllTools(client, deadline);
    connection.connected = true;
    return connection;
  } catch (err) {
    connection.closing = true;
    // Kills the child process, if one was started.
    await client.close().catch(() => undefined);
    const timedOut = deadline.aborted || (err instanceof McpError && err.code === REQUEST_TIMEOUT);
    return startFailure(config, err, timedOut, stderr);
  }
}

function callFailure(config: McpServerConfig, err: unknown): Error {
  if (err instanceof McpError && err.code === REQUEST_TIMEOUT) {
    return new Error(`the MCP server "${config.name}" did not answer within ${config.timeoutSeconds} s`, { cause: err });
  }
  if (err instanceof McpError && err.code === CONNECTION_CLOSED) {
    return new Error(`the MCP server "${config.name}" closed the connection during the call`, { cause: err });
  }
  return new Error(`the MCP server "${config.name}" failed the call: ${reasonOf(err)}`, { cause: err });
}

export class McpTools {
  readonly #connections: Connection[];
  readonly #statuses: McpServerStatus[];
  #closed = false;

  private constructor(connections: Connection[], statuses: McpServerStatus[]) {
    this.#connections = connections;
    this.#statuses = statuses;
  }

  /** Connects every server in parallel; never rejects for a server that fails (it is skipped). */
  static async connect(servers: readonly McpServerConfig[], log: Logger, options: McpConnectOptions = {}): Promise<McpTools> {
    const attempts = await Promise.all(servers.map((config) => connectServer(config, log, options)));
    const connections: Connection[] = [];
    const statuses: McpServerStatus[] = [];
    const taken = new Set<string>();
    attempts.forEach((attempt, index) => {
      const config = servers[index];
      if (config === undefined) return;
      if (typeof attempt === 'string') {
        log.warn({ server: config.name, reason: attempt }, `MCP server "${config.name}" skipped: ${attempt}`);
        statuses.push({ name: config.name, transport: config.transport, connected: false, tools: [], error: attempt });
        return;
      }
      attempt.tools = adaptAll(attempt, taken, log);
      connections.push(attempt);
      const names = attempt.tools.map((t) => t.name);
      statuses.push({ name: config.name, transport: config.transport, connected: true, tools: names });
      log.info({ server: config.name, tools: names }, `MCP server "${config.name}" connected with ${names.length} tools`);
    });
    return new McpTools(connections, statuses);
  }

  /** Every offered tool, in configuration order; empty after close(). */
  tools(): Tool[] {
    return this.#closed ? [] : this.#connections.flatMap((c) => c.tools);
  }

  /** Per configured server: connected or why not, and its tool names. */
  status(): McpServerStatus[] {
    return this.#statuses.map((s) => {
      const connection = this.#connections.find((c) => c.config.name === s.name);
      const connected = connection?.connected ?? false;
      return { ...s, tools: [...s.tools], connected, ...(s.connected && !connected ? { error: 'disconnected' } : {}) };
    });
  }

  /** Closes every client; stdio children get stdin closed, then SIGTERM, then SIGKILL. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(
      this.#connections.map(async (connection) => {
        const { client, transport } = connection;
        connection.closing = true;
        connection.connected = false;
        // Lets a stateful HTTP server free the session now rather than at its own timeout.
        if (transport instanceof StreamableHTTPClientTransport && transport.sessionId !== undefined) {
          await Promise.race([transport.terminateSession().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
        }
        await client.close().catch(() => undefined);
      }),
    );
  }
}

/** Adapts the listed tools of one server, honouring its allow-list and skipping what cannot be offered. */
function adaptAll(connection: Connection, taken: Set<string>, log: Logger): Tool[] {
  const { config, client, definitions } = connection;
  const allowed = config.tools === undefined ? undefined : new Set(config.tools);
  const call: McpCall = async (name, args, signal) => {
    if (!connection.connected) {
      throw new Error(`the MCP server "${config.name}" is not connected (it exited or closed the connection); its tools are unavailable until the bot restarts`);
    }
    const timeout = config.timeoutSeconds * 1000;
    try {
      return await client.callTool({ name, arguments: args }, undefined, { signal, timeout });
    } catch (err) {
      signal.throwIfAborted();
      throw callFailure(config, err);
    }
  };
  const tools: Tool[] = [];
  for (const definition of definitions) {
    if (allowed !== undefined && !allowed.has(definition.name)) continue;
    const adapted = adaptMcpTool(config, definition, call);
    const skip = (reason: string): void => {
      log.warn({ server: config.name, tool: definition.name, reason }, `MCP tool "${definition.name}" of "${config.name}" skipped: ${reason}`);
    };
    if (!adapted.ok) skip(adapted.reason);
    else if (taken.has(adapted.tool.name)) skip(`its name "${adapted.tool.name}" is already taken`);
    else {
      taken.add(adapted.tool.name);
      tools.push(adapted.tool);
    }
  }
  const listed = new Set(definitions.map((d) => d.name));
  for (const name of config.tools ?? []) {
    if (!listed.has(name)) log.warn({ server: config.name, tool: name }, `MCP server "${config.name}" has no tool "${name}" (listed in "tools")`);
  }
  return tools;
}
