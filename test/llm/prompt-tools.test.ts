/**
 * The pieces of tool calling through the prompt: reading JSON actions (and their lenient
 * variants), the history as plain turns, which errors are refusals of tools, and requests
 * without tools passing through untouched.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../../src/config.js';
import { toolsRefusal, ToolCallingModel } from '../../src/llm/adaptive-tools.js';
import { LlmError } from '../../src/llm/errors.js';
import { toPromptMessages } from '../../src/llm/prompt-tools.js';
import { chatStructured } from '../../src/llm/structured.js';
import { isProse, parseAction } from '../../src/llm/tool-actions.js';
import type { ChatMessage, ToolSpec } from '../../src/llm/types.js';
import { silentLogger } from '../../src/log.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { modelFor } from './helpers.js';

const fake = useFakeOpenAi();
const offered = new Set(['current_time', 'read_file']);
const tools: ToolSpec[] = [
  { name: 'current_time', description: 'The time now.', parameters: { type: 'object', properties: { timezone: { type: 'string' } } } },
  { name: 'read_file', description: 'Reads a file.', parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } },
];
const oslo = { tool: 'current_time', arguments: '{"timezone":"Europe/Oslo"}' };

describe('parseAction', () => {
  it.each([
    ['the canonical call', '{"action":"call","tool":"current_time","arguments":{"timezone":"Europe/Oslo"}}'],
    ['a fenced call after a sentence', 'I will check.\n```json\n{"action": "call", "tool": "current_time", "arguments": {"timezone": "Europe/Oslo"}}\n```'],
    ['arguments as a JSON string', '{"action":"call","tool":"current_time","arguments":"{\\"timezone\\":\\"Europe/Oslo\\"}"}'],
    ["LangChain's action/action_input", '{"action":"current_time","action_input":{"timezone":"Europe/Oslo"}}'],
    ['a bare name/arguments object', '{"name":"current_time","arguments":{"timezone":"Europe/Oslo"}}'],
    ['Hermes markup', '<tool_call>\n{"name": "current_time", "arguments": {"timezone": "Europe/Oslo"}}\n</tool_call>'],
    ['a call followed by an imagined observation', '{"action":"call","tool":"current_time","arguments":{"timezone":"Europe/Oslo"}}\nObservation: {"time":"12:00"}\n{"action":"final","answer":"noon"}'],
  ])('reads %s as a call', (_, text) => {
    expect(parseAction(text, offered)).toEqual({ ok: true, calls: [oslo] });
  });

  it.each([
    ['the canonical final', '{"action":"final","answer":"It is noon."}'],
    ['LangChain\'s "Final Answer"', '{"action":"Final Answer","action_input":"It is noon."}'],
    ['a bare final_answer', '{"final_answer":"It is noon."}'],
  ])('reads %s as the answer', (_, text) => {
    expect(parseAction(text, offered)).toEqual({ ok: true, action: { action: 'final', answer: 'It is noon.' } });
  });

  it('defaults missing arguments to none', () => {
    expect(parseAction('{"action":"call","tool":"current_time"}', offered)).toEqual({ ok: true, calls: [{ tool: 'current_time', arguments: '{}' }] });
  });

  it.each([
    ['prose', 'It is noon.', 'the reply has no JSON object'],
    ['broken JSON', '{"action":"call","tool":', 'the JSON is not valid ('],
    ['no action', '{"thought":"hmm"}', 'the object has no "action" field; it must be "call" or "final"'],
    ['an unknown action', '{"action":"search"}', '"action" must be "call" or "final", not "search"'],
    ['an unknown tool', '{"action":"call","tool":"clock"}', 'there is no tool named "clock"; the tools are: current_time, read_file'],
    ['arguments that are not an object', '{"action":"call","tool":"read_file","arguments":[1]}', '"arguments" must be a JSON object of named arguments'],
    ['an empty answer', '{"action":"final","answer":"  "}', '"answer" is empty'],
  ])('names the problem with %s', (_, text, problem) => {
    const parsed = parseAction(text, offered);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.problem).toContain(problem);
  });

  it('tells prose from a failed attempt at JSON', () => {
    expect(isProse('It is noon in Oslo.')).toBe(true);
    expect(isProse('{"action": "final", "answer": ')).toBe(false);
    expect(isProse('Here: "action": "call"')).toBe(false);
  });
});

describe('toPromptMessages', () => {
  it('describes the tools in the system message and turns calls and results into plain, alternating turns', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are Cairn.' },
      { role: 'user', content: 'Time in Oslo and the notes?' },
      { role: 'assistant', content: 'Checking.', toolCalls: [{ id: 'a', name: 'current_time', arguments: '{"timezone":"Europe/Oslo"}' }, { id: 'b', name: 'read_file', arguments: '{"path":"notes.md"}' }] },
      { role: 'tool', toolCallId: 'a', content: '12:00' },
      { role: 'tool', toolCallId: 'b', content: 'buy milk' },
      { role: 'user', content: 'This is your last step.' },
    ];
    const out = toPromptMessages(messages, tools);
    expect(out.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(out[0]?.content).toMatch(/^You are Cairn\.\n\n## Tools\n/);
    expect(out[0]?.content).toContain('- read_file: Reads a file.\n  arguments (JSON schema): {"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}');
    expect(out[2]?.content).toBe(
      '{"action":"call","tool":"current_time","arguments":{"timezone":"Europe/Oslo"}}\n{"action":"call","tool":"read_file","arguments":{"path":"notes.md"}}',
    );
    expect(out[3]?.content).toBe('Observation from current_time: 12:00\n\nObservation from read_file: buy milk\n\nThis is your last step.');
  });

  it('adds a system message when there is none, and shows earlier answers as final actions', () => {
    const out = toPromptMessages([{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }, { role: 'user', content: 'Time?' }], tools);
    expect(out[0]?.role).toBe('system');
    expect(out[2]).toEqual({ role: 'assistant', content: '{"action":"final","answer":"Hello!"}' });
  });
});

describe('toolsRefusal', () => {
  const error = (kind: LlmError['kind'], detail: string | undefined, status?: number) =>
    new LlmError(kind, `The model server rejected the request: tools ${detail ?? ''}`, { attempts: 1, ...(detail === undefined ? {} : { detail }), ...(status === undefined ? {} : { status }) });

  it.each([
    ['Ollama', error('bad_request', 'qwen2:0.5b does not support tools', 400)],
    ['vLLM', error('bad_request', '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set', 400)],
    ['llama.cpp (a 500)', error('server_error', 'tools param requires --jinja flag', 500)],
    ['OpenRouter (a 404)', error('not_found', 'No endpoints found that support tool use. To learn more…', 404)],
    ["OpenRouter's tool_choice 404", error('not_found', "No endpoints found that support the provided 'tool_choice' value", 404)],
    ['a generic 400 naming tool_choice', error('bad_request', 'Invalid value for tool_choice: auto is not supported', 400)],
  ])('recognises %s', (_, err) => {
    expect(toolsRefusal(err)).toBe(err.detail);
  });

  it.each([
    ['a context overflow', error('bad_request', "This model's maximum context length is 4097 tokens.", 400)],
    ['our own words without the server\'s', error('bad_request', undefined, 400)],
    ['a 500 that only mentions tools', error('server_error', 'tools crashed the worker', 500)],
    ['a timeout', new LlmError('timeout', 'tools', { attempts: 3 })],
    ['not an LlmError', new Error('does not support tools')],
  ])('ignores %s', (_, err) => {
    expect(toolsRefusal(err)).toBeNull();
  });
});

describe('requests without tools', () => {
  const Verdict = z.object({ keep: z.boolean() });
  for (const setting of ['prompt', 'auto'] as const) {
    it(`pass through untouched in ${setting} mode (structured output)`, async () => {
      const switched = new Map([['fake-model', 'does not support tools']]);
      const model = new ToolCallingModel(modelFor(fake), { setting, log: silentLogger(), switched });
      expect(model.toolCalling.mode).toBe('prompt');
      fake.script({ kind: 'text', content: '{"keep": true}' });
      const messages: ChatMessage[] = [{ role: 'system', content: 'Judge.' }, { role: 'user', content: 'Keep it?' }];
      const { value } = await chatStructured(model, { messages, schema: Verdict, name: 'verdict' });
      expect(value).toEqual({ keep: true });
      const [body] = fake.chatRequests();
      expect(body?.response_format).toBeDefined();
      expect(body?.tools ?? undefined).toBeUndefined();
      expect(JSON.stringify(body?.messages)).not.toContain('## Tools');
    });
  }
});

describe('CAIRN_TOOL_CALLING', () => {
  it('defaults to auto, takes native and prompt, and names a wrong value', () => {
    expect(loadConfig({}).llm.toolCalling).toBe('auto');
    expect(loadConfig({ CAIRN_TOOL_CALLING: 'prompt' }).llm.toolCalling).toBe('prompt');
    expect(loadConfig({ CAIRN_TOOL_CALLING: 'native' }).llm.toolCalling).toBe('native');
    expect(() => loadConfig({ CAIRN_TOOL_CALLING: 'json' })).toThrow(ConfigError);
    expect(() => loadConfig({ CAIRN_TOOL_CALLING: 'json' })).toThrow('CAIRN_TOOL_CALLING: must be auto, native or prompt (got "json")');
  });
});
