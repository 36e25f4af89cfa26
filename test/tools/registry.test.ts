import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { builtinTools } from '../../src/tools/builtin/index.js';
import { defineTool, ToolRegistry } from '../../src/tools/registry.js';
import type { Tool } from '../../src/tools/types.js';
import { capturingLogger, tempDir, toolCall, toolContext } from './helpers.js';

const echo = defineTool({
  name: 'echo',
  description: 'Echo the text back.',
  input: z.strictObject({ text: z.string(), times: z.number().int().min(1).optional() }),
  risk: 'low',
  run(args) {
    return Promise.resolve(args.text.repeat(args.times ?? 1));
  },
});

function constantTool(name: string, value: unknown): Tool {
  return defineTool({ name, description: `Returns a fixed value.`, input: z.object({}), risk: 'low', run: () => Promise.resolve(value) });
}

describe('ToolRegistry.run', () => {
  let dir = '';
  let cleanup: () => Promise<void> = () => Promise.resolve();
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterEach(async () => {
    await cleanup();
  });

  it('runs a valid call and measures its duration', async () => {
    const registry = new ToolRegistry([echo]);
    const outcome = await registry.run(toolCall('echo', { text: 'hi', times: 2 }), toolContext(dir));
    expect(outcome).toMatchObject({ ok: true, content: 'hihi', truncated: false });
    expect(outcome.error).toBeUndefined();
    expect(outcome.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('renders non-string output as JSON and undefined as "(no output)"', async () => {
    const registry = new ToolRegistry([constantTool('obj', { a: 1, b: [true] }), constantTool('nothing', undefined)]);
    const obj = await registry.run(toolCall('obj'), toolContext(dir));
    expect(JSON.parse(obj.content)).toEqual({ a: 1, b: [true] });
    expect((await registry.run(toolCall('nothing'), toolContext(dir))).content).toBe('(no output)');
  });

  it('reports an unknown tool with the available names and a suggestion', async () => {
    const registry = new ToolRegistry(builtinTools());
    const outcome = await registry.run(toolCall('read_fiel', { path: 'a' }), toolContext(dir));
    expect(outcome.ok).toBe(false);
    expect(outcome.error?.kind).toBe('unknown_tool');
    expect(outcome.content).toContain('there is no tool named "read_fiel"');
    expect(outcome.content).toContain('Did you mean "read_file"?');
    expect(outcome.content).toContain('Available tools: attach_file, current_time, list_files, read_file, write_file.');
  });

  it('reports arguments that are not valid JSON, quoting them and saying what is expected', async () => {
    const registry = new ToolRegistry(builtinTools());
    const outcome = await registry.run(toolCall('read_file', '{"path": '), toolContext(dir));
    expect(outcome.error?.kind).toBe('invalid_arguments');
    expect(outcome.content).toMatch(/^Error: the arguments for read_file are not valid JSON/);
    expect(outcome.content).toContain('{"path": ');
    expect(outcome.content).toContain('path (string, required)');

    const trailing = await registry.run(toolCall('echo', '{"text": "a"} and then some'), toolContext(dir));
    expect(trailing.error?.kind).toBe('unknown_tool');
    const withEcho = new ToolRegistry([echo]);
    const bad = await withEcho.run(toolCall('echo', '{"text": "a"} and then some'), toolContext(dir));
    expect(bad.error?.kind).toBe('invalid_arguments');
    expect(bad.content).toContain('not valid JSON');
  });

  it('treats empty arguments as {}', async () => {
    const registry = new ToolRegistry([constantTool('ping', 'pong')]);
    const outcome = await registry.run(toolCall('ping', ''), toolContext(dir));
    expect(outcome).toMatchObject({ ok: true, content: 'pong' });
  });

  it('lists every schema violation with its path', async () => {
    const registry = new ToolRegistry([echo, ...builtinTools()]);
    const typed = await registry.run(toolCall('read_file', { path: 42 }), toolContext(dir));
    expect(typed.error?.kind).toBe('invalid_arguments');
    expect(typed.content).toBe(
      'Error: invalid arguments for read_file: path: expected string, received number. Fix the arguments and call read_file again.',
    );

    const several = await registry.run(toolCall('echo', { times: 0, extra: 1 }), toolContext(dir));
    expect(several.content).toContain('text: required field is missing (expected string)');
    expect(several.content).toContain('times:');
    expect(several.content).toContain('unknown field "extra"');

    const notObject = await registry.run(toolCall('echo', '"just text"'), toolContext(dir));
    expect(notObject.content).toContain('arguments: expected object, received string');
  });

  it('turns a thrown error into a tool_error without the stack, and logs the details at info', async () => {
    const { log, lines } = capturingLogger();
    const failing = defineTool({
      name: 'explode',
      description: 'Always fails.',
      input: z.object({}),
      risk: 'low',
      run: () => Promise.reject(new Error('disk on fire')),
    });
    const syncFailing: Tool = {
      name: 'explode_sync',
      description: 'Throws synchronously.',
      input: z.object({}),
      risk: 'low',
      run: () => {
        throw new Error('sync boom');
      },
    };
    const registry = new ToolRegistry([failing, syncFailing]);
    const outcome = await registry.run(toolCall('explode'), toolContext(dir, { log }));
    expect(outcome).toMatchObject({ ok: false, content: 'Error: explode failed: disk on fire' });
    expect(outcome.error).toEqual({ kind: 'tool_error', message: 'disk on fire' });
    expect(outcome.content).not.toMatch(/\bat .*:\d+:\d+/);
    const logged = lines.find((line) => line.msg === 'tool failed');
    expect(logged).toMatchObject({ tool: 'explode', level: 30 });
    expect(JSON.stringify(logged)).toContain('stack');

    const sync = await registry.run(toolCall('explode_sync'), toolContext(dir));
    expect(sync.content).toBe('Error: explode_sync failed: sync boom');
  });

  it('removes the host workspace path from handler error messages', async () => {
    const leaky = defineTool({
      name: 'leaky',
      description: 'Fails with a raw fs-style message.',
      input: z.object({}),
      risk: 'low',
      run: () => Promise.reject(new Error(`ENOENT: no such file or directory, open '${dir}/notes/a.md' (in ${dir})`)),
    });
    const outcome = await new ToolRegistry([leaky]).run(toolCall('leaky'), toolContext(dir));
    expect(outcome.content).toBe("Error: leaky failed: ENOENT: no such file or directory, open 'notes/a.md' (in .)");
  });

  it('truncates long output keeping head and tail, saying how much was cut', async () => {
    const text = `${'a'.repeat(30_000)}MIDDLE${'z'.repeat(23_205)}`;
    const registry = new ToolRegistry([constantTool('big', text)], { maxOutputChars: 8000 });
    const outcome = await registry.run(toolCall('big'), toolContext(dir));
    expect(text.length).toBe(53_211);
    expect(outcome.truncated).toBe(true);
    expect(outcome.content).toContain('[… output truncated: showing 8000 of 53211 characters …]');
    expect(outcome.content.startsWith('a'.repeat(6000))).toBe(true);
    expect(outcome.content.endsWith('z'.repeat(1000))).toBe(true);
    expect(outcome.content).not.toContain('MIDDLE');
    const note = '\n\n[… output truncated: showing 8000 of 53211 characters …]\n\n';
    expect(outcome.content.length).toBe(8000 + note.length);

    const short = await new ToolRegistry([constantTool('small', 'x'.repeat(8000))]).run(toolCall('small'), toolContext(dir));
    expect(short).toMatchObject({ truncated: false, content: 'x'.repeat(8000) });
  });

  it('reports aborted when the signal is already aborted, without running the tool', async () => {
    let ran = false;
    const tool = defineTool({
      name: 'mark',
      description: 'Records that it ran.',
      input: z.object({}),
      risk: 'low',
      run: () => {
        ran = true;
        return Promise.resolve('ran');
      },
    });
    const controller = new AbortController();
    controller.abort();
    const outcome = await new ToolRegistry([tool]).run(toolCall('mark'), toolContext(dir, { signal: controller.signal }));
    expect(outcome.error?.kind).toBe('aborted');
    expect(outcome.ok).toBe(false);
    expect(ran).toBe(false);
  });

  it('stops waiting for a handler when the signal fires during the call', async () => {
    const hang = defineTool({
      name: 'hang',
      description: 'Never finishes and ignores its signal.',
      input: z.object({}),
      risk: 'low',
      run: () => new Promise<never>(() => undefined),
    });
    const controller = new AbortController();
    const pending = new ToolRegistry([hang]).run(toolCall('hang'), toolContext(dir, { signal: controller.signal }));
    setTimeout(() => {
      controller.abort();
    }, 20);
    const outcome = await pending;
    expect(outcome.error?.kind).toBe('aborted');
    expect(outcome.content).toContain('hang was cancelled');
  });
});

describe('ToolRegistry registration and specs', () => {
  it('produces object JSON schemas for the built-in tools', () => {
    const specs = new ToolRegistry(builtinTools()).specs();
    expect(specs.map((s) => s.name).sort()).toEqual(['attach_file', 'current_time', 'list_files', 'read_file', 'write_file']);
    for (const spec of specs) {
      expect(spec.parameters.type).toBe('object');
      expect(spec.parameters).not.toHaveProperty('$schema');
      expect(spec.description).toBeTruthy();
    }
    const byName = new Map(specs.map((s) => [s.name, s.parameters]));
    expect(byName.get('read_file')).toMatchObject({
      properties: { path: { type: 'string' }, offset: { type: 'integer' }, max_chars: { type: 'integer' } },
      required: ['path'],
    });
    const write = byName.get('write_file');
    expect(write).toMatchObject({ properties: { mode: { enum: ['overwrite', 'append', 'create'] } } });
    expect(write?.required).toEqual(['path', 'content']);
    expect(byName.get('list_files')?.required).toBeUndefined();
    expect(specs.every((s) => /relative to your workspace/.test(s.description) || s.name === 'current_time')).toBe(true);
  });

  it('refuses duplicate names, invalid names and non-object schemas', () => {
    const registry = new ToolRegistry([echo]);
    expect(() => {
      registry.register(echo);
    }).toThrow(/already registered/);
    for (const name of ['', 'has space', 'x'.repeat(65), 'dots.not.allowed']) {
      expect(() => {
        registry.register({ ...echo, name });
      }).toThrow(/invalid tool name/);
    }
    expect(() => {
      registry.register(defineTool({ name: 'str', description: 'A string input.', input: z.string(), risk: 'low', run: () => Promise.resolve('') }));
    }).toThrow(/must be a zod object/);
    expect(registry.list().map((t) => t.name)).toEqual(['echo']);
    expect(registry.get('echo')).toBe(echo);
    expect(registry.get('nope')).toBeUndefined();
  });
});
