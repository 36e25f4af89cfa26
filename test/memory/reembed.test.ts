import { describe, expect, it } from 'vitest';
import { EmbedderMismatchError } from '../../src/memory/db.js';
import { reembed } from '../../src/memory/reembed.js';
import { readableScopes } from '../../src/memory/types.js';
import { useTempMemory, wordEmbedder } from './helpers.js';

const mem = useTempMemory();
const scope = { userId: 'u-1', channelId: 'c-1' };

describe('re-embedding', () => {
  it('moves every memory to a new embedder, after which the new embedder opens and recalls normally', async () => {
    let memory = await mem.open();
    await memory.semantic.saveMany(
      Array.from({ length: 300 }, (_, i) => ({ text: `note ${i}: the invoice run ${i % 2 === 0 ? 'failed' : 'passed'}`, kind: 'note' as const, scope, visibility: 'channel' as const })),
    );
    await memory.working.append('user:u-1', 'user profile', 'kept as is');
    await memory.close();

    const next = wordEmbedder('test-words-v2', 32);
    await expect(mem.open({ embedder: next })).rejects.toBeInstanceOf(EmbedderMismatchError);
    memory = await mem.open({ embedder: next, anyEmbedder: true });
    const progress: number[] = [];
    const result = await reembed(memory, ({ done }) => progress.push(done));
    expect(result).toEqual({ from: 'test-words (64 dimensions)', to: 'test-words-v2 (32 dimensions)', memories: 300 });
    expect(progress.at(-1)).toBe(300);
    expect(await memory.db.connection.tableNames()).not.toContain('memories');
    await memory.close();

    memory = await mem.open({ embedder: next });
    expect(await memory.semantic.count()).toBe(300);
    const hits = await memory.semantic.recall({ query: 'invoice run 7 passed', scopes: readableScopes(scope), limit: 3 });
    expect(hits[0]?.memory.text).toBe('note 7: the invoice run passed');
    expect((await memory.working.view('user:u-1', 'user profile')).text).toBe('kept as is');
  });

  it('refuses vector work while opened with a mismatched embedder for maintenance', async () => {
    let memory = await mem.open();
    await memory.semantic.save({ text: 'x marks the spot', kind: 'fact', scope, visibility: 'private' });
    await memory.close();
    memory = await mem.open({ embedder: wordEmbedder('other', 16), anyEmbedder: true });
    await expect(memory.semantic.recall({ query: 'x', scopes: readableScopes(scope) })).rejects.toBeInstanceOf(EmbedderMismatchError);
    expect((await memory.exportUser('u-1')).memories).toHaveLength(1);
  });
});
