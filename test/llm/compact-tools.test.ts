import { describe, expect, it } from 'vitest';
import { compactTools, firstSentence, toolsWithin } from '../../src/llm/compact-tools.js';
import { FitWindowModel } from '../../src/llm/fit-window.js';
import { promptBudget, toolSpecTokens } from '../../src/llm/shrink-prompt.js';
import type { ChatRequest, ToolSpec } from '../../src/llm/types.js';
import { silentLogger } from '../../src/log.js';
import { builtinTools } from '../../src/tools/builtin/index.js';
import { ToolRegistry } from '../../src/tools/registry.js';

const builtins = (): ToolSpec[] => new ToolRegistry(builtinTools()).specs();

describe('firstSentence', () => {
  it('stops at the first sentence end, not at "e.g."', () => {
    expect(firstSentence('Read a file, e.g. "notes.md". Paths are relative.', 200)).toBe('Read a file, e.g. "notes.md".');
  });
  it('cuts a long sentence at a word, with an ellipsis', () => {
    const cut = firstSentence('Get the current date and time in a given IANA time zone or the server zone', 40);
    expect(cut.length).toBeLessThanOrEqual(40);
    expect(cut).toBe('Get the current date and time in a…');
  });
});

describe('compactTools', () => {
  it('keeps every tool, name, type, enum and required field at every step', () => {
    const full = builtins();
    for (const detail of ['brief', 'terse', 'bare'] as const) {
      const compact = compactTools(full, detail);
      expect(compact.map((t) => t.name)).toEqual(full.map((t) => t.name));
      const write = compact.find((t) => t.name === 'write_file')?.parameters as { required: string[]; properties: Record<string, { type: string; enum?: string[] }> };
      expect(write.required).toEqual(['path', 'content']);
      expect(write.properties.mode).toMatchObject({ type: 'string', enum: ['overwrite', 'append', 'create'] });
    }
  });

  it('shortens step by step: first sentences, then no parameter descriptions or bounds', () => {
    const full = builtins();
    const sizes = (['full', 'brief', 'terse', 'bare'] as const).map((d) => JSON.stringify(compactTools(full, d)).length);
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]).toBeLessThan(sizes[i - 1] ?? 0);
    const read = (d: 'brief' | 'terse') => compactTools(full, d).find((t) => t.name === 'read_file');
    expect(read('brief')?.description).toBe('Read a text file from your workspace.');
    expect(JSON.stringify(read('brief')?.parameters)).toContain('Character offset to start reading from');
    expect(JSON.stringify(read('terse')?.parameters)).not.toContain('description');
    expect(JSON.stringify(read('terse')?.parameters)).not.toContain('minLength');
  });

  it('a property named like a keyword is a property, not a keyword', () => {
    const spec: ToolSpec = { name: 't', description: 'T.', parameters: { type: 'object', properties: { description: { type: 'string', description: 'Words. More words.' }, default: { type: 'boolean' } } } };
    expect(compactTools([spec], 'terse')[0]?.parameters).toEqual({ type: 'object', properties: { description: { type: 'string' }, default: { type: 'boolean' } } });
  });
});

describe('toolsWithin', () => {
  it('picks the most detailed step that fits, and the barest when none does', () => {
    const full = builtins();
    const tokens = toolSpecTokens(full);
    expect(toolsWithin(full, tokens, toolSpecTokens).detail).toBe('full');
    expect(toolsWithin(full, tokens - 1, toolSpecTokens).detail).toBe('brief');
    expect(toolsWithin(full, 1, toolSpecTokens).detail).toBe('bare');
  });
});

describe('FitWindowModel and the tools', () => {
  const sentTools = async (window: number): Promise<ToolSpec[] | undefined> => {
    let seen: ToolSpec[] | undefined;
    const inner = {
      model: 'm',
      chat: (request: ChatRequest) => {
        seen = request.tools;
        return Promise.resolve({ content: 'ok', reasoning: null, toolCalls: [], usage: { promptTokens: 1, completionTokens: 1 }, usageEstimated: false, finishReason: 'stop', model: 'm' });
      },
    };
    const model = new FitWindowModel(inner, { window: () => Promise.resolve({ tokens: window, source: 'default' }), maxOutputTokens: 4_096, log: silentLogger(), learned: new Map() });
    await model.chat({ messages: [{ role: 'user', content: 'hi' }], tools: builtins() });
    return seen;
  };

  it('sends the tools whole on a large window', async () => {
    expect(await sentTools(131_072)).toEqual(builtins());
  });

  it('on a 4,096-token window, keeps the tools within 30% of the prompt budget', async () => {
    const sent = await sentTools(4_096);
    expect(sent?.map((t) => t.name)).toEqual(builtins().map((t) => t.name));
    expect(toolSpecTokens(sent)).toBeLessThanOrEqual(promptBudget(4_096, 512) * 0.3);
  });
});
