/**
 * An MCP server fixture for the MCP client tests, on the real SDK. Run as a script it serves
 * over stdio (`node --import tsx test/fakes/mcp-server.ts`, or with `--crash` to fail at start);
 * imported, startHttpMcpServer() serves it over Streamable HTTP on 127.0.0.1 in-process.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

export const FIXTURE_PATH = fileURLToPath(import.meta.url);
/** The repository root: `--import tsx` resolves from the working directory. */
export const REPO_ROOT = path.resolve(path.dirname(FIXTURE_PATH), '../..');

/** A 1x1 PNG, to check that images reach the model as a one-line summary. */
const PNG_1X1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';

function text(value: string): CallToolResult {
  return { content: [{ type: 'text', text: value }] };
}

/** The fixture's tools; `calls` records every tool call, so tests can see whether one was made. */
export function createFixtureServer(calls: string[] = []): McpServer {
  const server = new McpServer({ name: 'cairn-fixture', version: '1.0.0' });
  server.registerTool(
    'add',
    { description: 'Add two numbers and return the sum.', inputSchema: { a: z.number().describe('first addend'), b: z.number() } },
    ({ a, b }) => {
      calls.push('add');
      return text(String(a + b));
    },
  );
  server.registerTool('fail', { description: 'Always reports an error.', inputSchema: { reason: z.string().optional() } }, ({ reason }) => {
    calls.push('fail');
    return { isError: true, content: [{ type: 'text', text: reason ?? 'the fixture failed on purpose' }] };
  });
  server.registerTool('echo.upper', { description: 'Echo text in upper case.', inputSchema: { text: z.string() } }, (args) => {
    calls.push('echo.upper');
    return text(args.text.toUpperCase());
  });
  server.registerTool('slow', { description: 'Wait, then answer.', inputSchema: { ms: z.number().int().min(0) } }, async ({ ms }, extra) => {
    calls.push('slow');
    await sleep(ms, undefined, { signal: extra.signal }).catch(() => undefined);
    return text(`waited ${ms} ms`);
  });
  server.registerTool('picture', { description: 'Returns mixed content.' }, () => ({
    content: [
      { type: 'text', text: 'A red dot:' },
      { type: 'image', data: PNG_1X1, mimeType: 'image/png' },
      { type: 'resource', resource: { uri: 'file:///notes.txt', mimeType: 'text/plain', text: 'note body' } },
    ],
  }));
  server.registerTool('pid', { description: 'The server process id.' }, () => text(String(process.pid)));
  server.registerTool('env', { description: 'One environment variable of the server.', inputSchema: { name: z.string() } }, ({ name }) =>
    text(process.env[name] ?? '(unset)'),
  );
  server.registerTool('exit', { description: 'Answers, then the process exits.' }, () => {
    setTimeout(() => process.exit(1), 50);
    return text('bye');
  });
  return server;
}

export interface HttpMcpFixture {
  /** The MCP endpoint, e.g. http://127.0.0.1:40123/mcp. */
  url: string;
  /** Tool names in call order, across every request. */
  calls: string[];
  close(): Promise<void>;
}

/**
 * Stateless Streamable HTTP (a fresh server per POST, as the SDK's stateless example does).
 * With `token`, requests without "Authorization: Bearer <token>" get a 401.
 */
export async function startHttpMcpServer(options: { token?: string } = {}): Promise<HttpMcpFixture> {
  const calls: string[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid token' }));
      return;
    }
    if (req.url !== '/mcp') {
      res.writeHead(404).end();
      return;
    }
    if (req.method !== 'POST') {
      // No standalone SSE stream and no sessions in stateless mode.
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const server = createFixtureServer(calls);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  }

  const http = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    calls,
    close() {
      http.closeAllConnections();
      return new Promise<void>((resolve) => {
        http.close(() => {
          resolve();
        });
      });
    },
  };
}

async function main(): Promise<void> {
  if (process.argv.includes('--crash')) {
    process.stderr.write('fixture: FIXTURE_API_KEY is not set\n');
    process.exit(3);
  }
  await createFixtureServer().connect(new StdioServerTransport());
}

const entry = process.argv[1];
if (entry !== undefined && pathToFileURL(entry).href === import.meta.url) await main();
