import { describe, expect, it } from 'vitest';
import { parseTextToolCalls } from '../../src/llm/tool-text.js';

const offered = new Set(['read_file', 'current_time', 'http_get']);
const call = (name: string, args: Record<string, unknown>) => ({ name, arguments: JSON.stringify(args) });

describe('tool calls written as text', () => {
  it.each([
    ['Hermes / Qwen', '<tool_call>\n{"name": "read_file", "arguments": {"path": "a.txt"}}\n</tool_call>'],
    ['Hermes with prose before it', 'Let me look.\n<tool_call>\n{"name": "read_file", "arguments": {"path": "a.txt"}}\n</tool_call>'],
    ['Qwen3-Coder XML', '<tool_call>\n<function=read_file>\n<parameter=path>\na.txt\n</parameter>\n</function>\n</tool_call>'],
    ['Mistral v3', '[TOOL_CALLS][{"name": "read_file", "arguments": {"path": "a.txt"}}]'],
    ['Mistral v11', '[TOOL_CALLS]read_file[ARGS]{"path": "a.txt"}'],
    ['Llama 3.x python_tag', '<|python_tag|>{"name": "read_file", "parameters": {"path": "a.txt"}}<|eom_id|>'],
    ['Llama 3.x bare JSON', '{"name": "read_file", "parameters": {"path": "a.txt"}}'],
    ['LM Studio default', '[TOOL_REQUEST]{"name": "read_file", "arguments": {"path": "a.txt"}}[END_TOOL_REQUEST]'],
    ['a fenced JSON object', '```json\n{"name": "read_file", "arguments": {"path": "a.txt"}}\n```'],
    ['arguments as a JSON string', '<tool_call>{"name": "read_file", "arguments": "{\\"path\\": \\"a.txt\\"}"}</tool_call>'],
    ['the API’s nested form', '<tool_call>{"type": "function", "function": {"name": "read_file", "arguments": {"path": "a.txt"}}}</tool_call>'],
  ])('recognises %s', (_format, content) => {
    const parsed = parseTextToolCalls(content, offered);
    expect(parsed?.calls).toHaveLength(1);
    expect(parsed?.calls[0]?.name).toBe('read_file');
    expect(JSON.parse(parsed?.calls[0]?.arguments ?? 'null')).toEqual({ path: 'a.txt' });
  });

  it('keeps the prose around the markup as text, and takes several calls', () => {
    const parsed = parseTextToolCalls(
      'I will check both.\n<tool_call>{"name": "current_time", "arguments": {}}</tool_call>\n<tool_call>{"name": "http_get", "arguments": {"url": "https://example.com"}}</tool_call>',
      offered,
    );
    expect(parsed).toEqual({ calls: [call('current_time', {}), call('http_get', { url: 'https://example.com' })], text: 'I will check both.' });
  });

  it('reads Qwen3-Coder parameter values as JSON where they are, text otherwise', () => {
    const parsed = parseTextToolCalls('<tool_call><function=http_get><parameter=url>https://example.com</parameter><parameter=retries>3</parameter></function></tool_call>', offered);
    expect(JSON.parse(parsed?.calls[0]?.arguments ?? 'null')).toEqual({ url: 'https://example.com', retries: 3 });
  });

  it('takes an unclosed last block (the model stopped after it)', () => {
    expect(parseTextToolCalls('<tool_call>{"name": "current_time", "arguments": {}}', offered)?.calls).toEqual([call('current_time', {})]);
  });

  it('leaves answers alone: prose, JSON about other things, tools not offered, prose about the tags', () => {
    for (const content of [
      'The file says hello.',
      '{"name": "Ada", "arguments": {"age": 36}}', // JSON, but no offered tool by that name
      '{"result": 42}',
      'Models like Qwen write <tool_call> tags when no parser is configured.',
      '```json\n{"city": "Oslo"}\n```',
      '[TOOL_CALLS] are how Mistral marks calls.',
    ]) {
      expect(parseTextToolCalls(content, offered)).toBeNull();
    }
  });

  it('runs a tagged call even to a tool it was not offered, so the model hears that it does not exist', () => {
    expect(parseTextToolCalls('<tool_call>{"name": "launch_rockets", "arguments": {}}</tool_call>', offered)?.calls).toEqual([call('launch_rockets', {})]);
  });

  it('does not search very long replies or take more than 16 calls', () => {
    expect(parseTextToolCalls(`${'x'.repeat(200_001)}<tool_call>{"name": "current_time", "arguments": {}}</tool_call>`, offered)).toBeNull();
    const many = Array.from({ length: 17 }, () => '<tool_call>{"name": "current_time", "arguments": {}}</tool_call>').join('\n');
    expect(parseTextToolCalls(many, offered)).toBeNull();
  });
});
