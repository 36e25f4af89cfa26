import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adaptMcpTool, loadMcpServers, McpTools, mcpToolName, parseMcpServers, renderCallResult, type McpServerInput } from '../../src/tools/mcp/index.js';
import type { ApprovalRequest, Approver } from '../../src/agent/approval.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import { toolMessages, useHarness } from '../agent/harness.js';
import { FIXTURE_PATH, REPO_ROOT, startHttpMcpServer, type HttpMcpFixture } from '../fakes/mcp-server.js';
import { capturingLogger, tempDir, toolCall, toolContext } from './helpers.js';

const h = useHarness();

/** The fixture over stdio; `args` are appended to the fixture's own. */
function stdioServer(name: string, extra: { args?: string[]; env?: Record<string, string> } = {}): McpServerInput {
  const args = ['--import', 'tsx', FIXTURE_PATH, ...(extra.args ?? [])];
  return { name, transport: 'stdio', command: process.execPath, args, cwd: REPO_ROOT, env: extra.env };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let http: HttpMcpFixture;
let mcp: McpTools;
let registry: ToolRegistry;
const captured = capturingLogger();
const run = (name: string, args: unknown = {}, signal?: AbortSignal) =>
  registry.run(toolCall(name, args), toolContext('/nonexistent', signal === undefined ? {} : { signal }));

beforeAll(async () => {
  process.env.CAIRN_TEST_SECRET = 'must-not-leak';
  http = await startHttpMcpServer({ token: 'fixture-token' });
  const servers = parseMcpServers([
    stdioServer('local', { env: { FIXTURE_GREETING: 'hello' } }),
    { name: 'remote', url: http.url, headers: { authorization: 'Bearer fixture-token' }, risk: 'medium', toolRisk: { add: 'low' } },
    // A short deadline on its own entry, so a slow machine cannot time out the other calls.
    { name: 'slowpoke', url: http.url, headers: { authorization: 'Bearer fixture-token' }, tools: ['slow'], timeoutSeconds: 0.5 },
  ]);
  mcp = await McpTools.connect(servers, captured.log);
  registry = new ToolRegistry(mcp.tools());
});

afterAll(async () => {
  delete process.env.CAIRN_TEST_SECRET;
  await mcp.close();
  await http.close();
});

describe('MCP configuration', () => {
  it('fills in defaults and accepts the "mcpServers" object that server READMEs show', () => {
    const [server] = parseMcpServers([{ name: 'fs', transport: 'stdio', command: 'mcp-fs' }]);
    expect(server).toMatchObject({ risk: 'high', timeoutSeconds: 60, connectTimeoutSeconds: 30, args: [], env: {}, toolRisk: {} });
    const servers = parseMcpServers({ mcpServers: { fs: { command: 'npx', args: ['-y', 'fs-server'] }, web: { type: 'streamable-http', url: 'https://x.example/mcp' } } });
    expect(servers.map((s) => [s.name, s.transport])).toEqual([['fs', 'stdio'], ['web', 'http']]);
  });

  it('reports every mistake by path', () => {
    const attempt = () =>
      parseMcpServers([
        { name: 'bad name!', transport: 'stdio', command: 'x' },
        { name: 'a', transport: 'stdio', command: 'x', agrs: [] },
        { name: 'h', transport: 'http', url: 'ftp://nope' },
        { name: 'h', transport: 'http', url: 'https://ok.example', risk: 'extreme' },
      ]);
    expect(attempt).toThrow(/invalid MCP server configuration/);
    expect(attempt).toThrow(/letters, digits/);
    expect(attempt).toThrow(/agrs/);
    expect(attempt).toThrow(/http:\/\/ or https:\/\//);
    expect(attempt).toThrow(/"low", "medium" or "high"/);
    expect(() => parseMcpServers([stdioServer('twin'), stdioServer('TWIN')])).toThrow(/duplicate server name "TWIN"/);
  });

  it('loads JSON text or a JSON file, and nothing when unset', async () => {
    expect(await loadMcpServers(undefined)).toEqual([]);
    expect(await loadMcpServers('  ')).toEqual([]);
    expect(await loadMcpServers('[{"name":"a","command":"x"}]')).toHaveLength(1);
    const { dir, cleanup } = await tempDir();
    try {
      const file = path.join(dir, 'mcp.json');
      await writeFile(file, JSON.stringify({ mcpServers: { b: { url: 'http://127.0.0.1:1/mcp' } } }));
      expect((await loadMcpServers(file))[0]).toMatchObject({ name: 'b', transport: 'http' });
      await expect(loadMcpServers(path.join(dir, 'missing.json'))).rejects.toThrow(/cannot read the MCP server file .*ENOENT/);
      await expect(loadMcpServers('[{"name":')).rejects.toThrow(/not valid JSON/);
    } finally {
      await cleanup();
    }
  });
});

describe('MCP tool adapter', () => {
  const owner = { name: 'srv', risk: 'high' as const, toolRisk: {} };
  const call = () => Promise.resolve({ content: [] });

  it('makes names the model API accepts, keeping long ones distinct', () => {
    expect(mcpToolName('github', 'search.issues v2')).toBe('github__search_issues_v2');
    const long1 = mcpToolName('server', `${'x'.repeat(70)}1`);
    const long2 = mcpToolName('server', `${'x'.repeat(70)}2`);
    expect(long1).toMatch(/^[a-zA-Z0-9_-]{64}$/);
    expect(long1).not.toBe(long2);
  });

  it('skips a tool whose input schema zod cannot represent, with the reason', () => {
    const adapted = adaptMcpTool(owner, { name: 't', inputSchema: { type: 'object', properties: { x: { not: { type: 'string' } } } } }, call);
    expect(adapted).toMatchObject({ ok: false, reason: expect.stringMatching(/input schema cannot be converted: not is not supported/) as unknown });
  });

  it('takes a per-tool risk only from the configuration itself, never from Object.prototype', () => {
    for (const name of ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__']) {
      const adapted = adaptMcpTool({ name: 'srv', risk: 'high', toolRisk: {} }, { name, inputSchema: { type: 'object', properties: {} } }, call);
      expect(adapted.ok && adapted.tool.risk).toBe('high');
    }
  });

  it('renders content parts and older { toolResult } answers', () => {
    expect(renderCallResult({ content: [], structuredContent: { n: 1 } })).toBe('{"n":1}');
    expect(renderCallResult({ content: [] })).toBe('(the tool returned no output)');
    expect(renderCallResult({ toolResult: { ok: true } })).toEqual({ ok: true });
    expect(() => renderCallResult({ content: [], isError: true })).toThrow(/without a message/);
  });
});

describe('MCP tools through the registry', () => {
  it('lists both servers\' tools with prefixed names, descriptions and configured risks', () => {
    const tools = new Map(mcp.tools().map((t) => [t.name, t]));
    expect([...tools.keys()]).toEqual(expect.arrayContaining(['local__add', 'local__fail', 'local__echo_upper', 'remote__add', 'remote__slow']));
    expect(tools.get('local__add')?.description).toBe('[MCP server "local"] Add two numbers and return the sum.');
    expect([tools.get('local__add')?.risk, tools.get('remote__add')?.risk, tools.get('remote__fail')?.risk]).toEqual(['high', 'low', 'medium']);
    const spec = registry.specs().find((s) => s.name === 'local__add');
    expect(spec?.parameters).toMatchObject({ type: 'object', required: ['a', 'b'], properties: { a: { type: 'number', description: 'first addend' } } });
    expect(mcp.status().map((s) => [s.name, s.connected])).toEqual([['local', true], ['remote', true], ['slowpoke', true]]);
  });

  it('calls a tool over stdio and over HTTP', async () => {
    expect(await run('local__add', { a: 2, b: 3 })).toMatchObject({ ok: true, content: '5' });
    expect(await run('local__echo_upper', { text: 'quiet' })).toMatchObject({ ok: true, content: 'QUIET' });
    expect(await run('remote__add', { a: 40, b: 2 })).toMatchObject({ ok: true, content: '42' });
    expect(http.calls).toContain('add');
  });

  it('validates arguments in the registry, without calling the server', async () => {
    const before = http.calls.length;
    const outcome = await run('remote__add', { a: 'two', b: 3 });
    expect(outcome.error?.kind).toBe('invalid_arguments');
    expect(outcome.content).toMatch(/invalid arguments for remote__add: a: expected number, received string/);
    expect((await run('remote__add', { a: 1 })).content).toMatch(/b: required field is missing/);
    expect(http.calls.length).toBe(before);
  });

  it('turns an isError result into a tool error the model reads', async () => {
    const outcome = await run('local__fail', { reason: 'quota exceeded' });
    expect(outcome).toMatchObject({ ok: false, error: { kind: 'tool_error', message: 'quota exceeded' } });
    expect(outcome.content).toBe('Error: local__fail failed: quota exceeded');
  });

  it('summarises images and shows embedded text resources', async () => {
    expect((await run('remote__picture')).content).toBe('A red dot:\n[image: image/png, 72 bytes]\n[resource: file:///notes.txt, text/plain]\nnote body');
  });

  it('gives the configured env to a stdio server, but not the bot\'s own environment', async () => {
    expect((await run('local__env', { name: 'FIXTURE_GREETING' })).content).toBe('hello');
    expect((await run('local__env', { name: 'CAIRN_TEST_SECRET' })).content).toBe('(unset)');
  });

  it('times a slow call out, and stops waiting when the run is aborted', async () => {
    const slow = await run('slowpoke__slow', { ms: 3_000 });
    expect(slow.content).toMatch(/the MCP server "slowpoke" did not answer within 0\.5 s/);
    const controller = new AbortController();
    const pending = run('local__slow', { ms: 3_000 }, controller.signal);
    setTimeout(() => { controller.abort(); }, 100);
    expect((await pending).error?.kind).toBe('aborted');
  });
});

describe('MCP server lifecycle', () => {
  it('skips servers that cannot start, logging why, and still offers the others', async () => {
    const { log, lines } = capturingLogger();
    const refused = createServer();
    await new Promise<void>((resolve) => refused.listen(0, '127.0.0.1', resolve));
    const { port } = refused.address() as AddressInfo;
    await new Promise<void>((resolve) => refused.close(() => { resolve(); }));
    // Accepts the connection and never answers.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as AddressInfo).port;
    const servers = parseMcpServers([
      { name: 'missing', command: 'cairn-no-such-mcp-server' },
      stdioServer('crashy', { args: ['--crash'] }),
      { name: 'badtoken', url: http.url, headers: { authorization: 'Bearer wrong' } },
      { name: 'down', url: `http://127.0.0.1:${port}/mcp` },
      { name: 'silent', url: `http://127.0.0.1:${silentPort}/mcp`, connectTimeoutSeconds: 0.3 },
      { name: 'picky', url: http.url, headers: { authorization: 'Bearer fixture-token' }, tools: ['add', 'nope'] },
    ]);
    const tools = await McpTools.connect(servers, log);
    try {
      expect(tools.tools().map((t) => t.name)).toEqual(['picky__add']);
      const reasons = Object.fromEntries(tools.status().map((s) => [s.name, s.error ?? 'ok']));
      expect(reasons.missing).toMatch(/command "cairn-no-such-mcp-server" was not found/);
      expect(reasons.crashy).toMatch(/process exited before it finished starting; its last output: fixture: FIXTURE_API_KEY is not set/);
      expect(reasons.badtoken).toMatch(/answered HTTP 401 \(check the credentials in "headers"\)/);
      expect(reasons.down).toMatch(/ECONNREFUSED/);
      expect(reasons.silent).toBe('it did not finish starting within 0.3 s');
      expect(reasons.picky).toBe('ok');
      const messages = lines.filter((l) => l.level === 40).map((l) => String(l.msg));
      expect(messages).toEqual(expect.arrayContaining([expect.stringMatching(/^MCP server "crashy" skipped: /), expect.stringMatching(/has no tool "nope"/)]));
    } finally {
      await tools.close();
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('reports a server that died, and close() leaves no child process', async () => {
    const tools = await McpTools.connect(parseMcpServers([stdioServer('short')]), capturingLogger().log);
    const local = new ToolRegistry(tools.tools());
    const pid = Number((await local.run(toolCall('short__pid'), toolContext('/x'))).content);
    expect(isAlive(pid)).toBe(true);
    await local.run(toolCall('short__exit'), toolContext('/x'));
    await expect.poll(() => tools.status()[0]?.connected).toBe(false);
    expect((await local.run(toolCall('short__add', { a: 1, b: 1 }), toolContext('/x'))).content).toMatch(/is not connected/);
    await tools.close();
    expect(isAlive(pid)).toBe(false);

    const second = await McpTools.connect(parseMcpServers([stdioServer('again')]), capturingLogger().log);
    const pid2 = Number((await new ToolRegistry(second.tools()).run(toolCall('again__pid'), toolContext('/x'))).content);
    await second.close();
    expect(isAlive(pid2)).toBe(false);
    expect(second.tools()).toEqual([]);
  });
});

describe('MCP tools in an agent run', () => {
  it('the model calls an MCP tool end to end, after approval, and the result reaches its next request', async () => {
    h.fake.script(
      { kind: 'tool_calls', calls: [{ id: 'call_mcp', name: 'local__add', arguments: { a: 19, b: 23 } }] },
      { kind: 'text', content: 'The sum is 42.' },
    );
    const asked: ApprovalRequest[] = [];
    const approver: Approver = (request) => {
      asked.push(request);
      return Promise.resolve({ outcome: 'approved', by: 'tester' });
    };
    const result = await h.agent({ extraTools: mcp.tools() }).run({ goal: 'Add 19 and 23 with the MCP tool', approver });
    expect(result).toMatchObject({ status: 'succeeded', answer: 'The sum is 42.', toolCalls: { total: 1, succeeded: 1 } });
    // Unconfigured MCP tools are high risk, so the same approval gate as built-in tools applies.
    expect(asked.map((r) => [r.tool, r.risk])).toEqual([['local__add', 'high']]);
    const [first, second] = h.fake.chatRequests();
    expect(first?.tools?.map((t) => t.function.name)).toEqual(expect.arrayContaining(['local__add', 'remote__add']));
    expect(second?.messages.find((m) => m.role === 'tool')).toMatchObject({ tool_call_id: 'call_mcp' });
    expect(toolMessages(second ?? { messages: [] })).toEqual(['42']);
  });

  it('runs a tool the admin marked low risk without asking, and refuses a high-risk one with no one to ask', async () => {
    h.fake.script(
      { kind: 'tool_calls', calls: [{ name: 'remote__add', arguments: { a: 1, b: 2 } }, { name: 'local__add', arguments: { a: 1, b: 2 } }] },
      { kind: 'text', content: 'Done.' },
    );
    const result = await h.agent({ extraTools: mcp.tools() }).run({ goal: 'Add twice' });
    expect(result).toMatchObject({ status: 'succeeded', toolCalls: { total: 2, succeeded: 1 } });
    const [low, high] = toolMessages(h.fake.chatRequests()[1] ?? { messages: [] });
    expect(low).toBe('3');
    expect(high).toMatch(/Not run: "local__add" needs approval/);
  });
});
