import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { createEmbedder } from '../../src/memory/embedders/index.js';
import type { TokenUsage } from '../../src/llm/types.js';
import { ModelQueryRewriter } from '../../src/memory/query/rewrite.js';
import { readableScopes } from '../../src/memory/types.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { modelFor } from '../llm/helpers.js';
import { useTempMemory } from './helpers.js';

const fake = useFakeOpenAi();
const mem = useTempMemory();
const scope = { userId: 'u-1', channelId: 'c-1' };

const rewriter = (timeoutMs = 2_000) => new ModelQueryRewriter(modelFor(fake, { maxRetries: 0 }), silentLogger(), { timeoutMs, maxQueries: 4 });

describe('model-assisted query rewriting', () => {
  it('returns the keyword queries the model wrote, without repeating the question', async () => {
    fake.script({ kind: 'text', content: '{"queries": ["Lena rescue dog", "what pet does Lena have?", "Lena pet name"]}' });
    const queries = await rewriter().rewrite('What pet does Lena have?');
    expect(queries).toEqual(['Lena rescue dog', 'Lena pet name']);
    const sent = JSON.stringify(fake.chatRequests()[0]?.messages);
    expect(sent).toContain('What pet does Lena have?');
  });

  it('falls back to no extra queries when the reply is malformed twice, and charges both tries', async () => {
    fake.script({ kind: 'text', content: 'Sure! Lena has a dog.', usage: { prompt: 90, completion: 8 } }, { kind: 'text', content: '{"queries": "Lena dog"}', usage: { prompt: 130, completion: 6 } });
    const charged: TokenUsage[] = [];
    const spend = { allows: () => true, charge: (usage: TokenUsage) => void charged.push(usage) };
    expect(await rewriter().rewrite('What pet does Lena have?', undefined, spend)).toEqual([]);
    expect(charged).toEqual([{ promptTokens: 220, completionTokens: 14 }]);
  });

  it('falls back when the server fails or does not answer in time', async () => {
    fake.script({ kind: 'error', status: 500 });
    expect(await rewriter().rewrite('What pet does Lena have?')).toEqual([]);
    fake.script({ kind: 'hang' });
    expect(await rewriter(200).rewrite('What pet does Lena have?')).toEqual([]);
  });

  it('lets recall find a memory through the rewritten queries, and recalls as offline when the model fails', async () => {
    const memory = await mem.open({ embedder: await createEmbedder('local', { timeoutMs: 1_000, maxRetries: 0 }, silentLogger()) });
    const filler = Array.from({ length: 40 }, (_, i) => `Lena watched part ${i} of a documentary about wild animals at home`);
    await memory.semantic.saveMany(
      [...filler, 'Lena adopted a rescue greyhound called Biscuit'].map((text) => ({ text, kind: 'fact' as const, scope, visibility: 'channel' as const })),
    );
    await memory.maintenance.runAll();
    const question = 'Does Lena have any animals at home?';
    const found = (hits: { memory: { text: string } }[]) => hits.some((h) => h.memory.text.includes('Biscuit'));
    const offline = await memory.semantic.recall({ query: question, scopes: readableScopes(scope), limit: 3 });
    expect(found(offline)).toBe(false);

    fake.script({ kind: 'text', content: '{"queries": ["greyhound", "adopted rescue dog"]}' });
    const assisted = await memory.semantic.recall({ query: question, scopes: readableScopes(scope), limit: 3, rewriter: rewriter() });
    expect(found(assisted)).toBe(true);

    fake.script({ kind: 'error', status: 400, message: 'no such model' });
    const failed = await memory.semantic.recall({ query: question, scopes: readableScopes(scope), limit: 3, rewriter: rewriter() });
    expect(failed.map((h) => h.memory.id)).toEqual(offline.map((h) => h.memory.id));
  });
});
