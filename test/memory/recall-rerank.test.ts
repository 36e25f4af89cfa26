import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { createEmbedder } from '../../src/memory/embedders/index.js';
import type { Memory } from '../../src/memory/memory.js';
import { NO_FEATURES } from '../../src/memory/query/features.js';
import { readableScopes, type MemoryInput } from '../../src/memory/types.js';
import { useTempMemory } from './helpers.js';

const mem = useTempMemory();
const scope = { userId: 'u-1', channelId: 'c-1' };
const NOW = Date.UTC(2025, 5, 20, 12);
const DAY = 86_400_000;

const turn = (speaker: string, text: string, createdAt: number, context?: string): MemoryInput => ({
  kind: 'turn',
  text,
  speaker,
  ...(context === undefined ? {} : { context }),
  createdAt: new Date(createdAt),
  scope,
  visibility: 'channel',
});

async function open(): Promise<Memory> {
  return mem.open({ embedder: await createEmbedder('local', { timeoutMs: 1_000, maxRetries: 0 }, silentLogger()), now: () => NOW });
}

async function textsFor(memory: Memory, query: string, options: { features?: typeof NO_FEATURES } = {}): Promise<string[]> {
  const hits = await memory.semantic.recall({ query, scopes: readableScopes(scope), limit: 5, ...options });
  return hits.map((h) => `${h.memory.speaker ?? ''}: ${h.memory.text}`);
}

describe('recall reranking', () => {
  it('ranks the turn of the person a question names above the same words from someone else', async () => {
    const memory = await open();
    await memory.semantic.saveMany([
      // A reply carries the named person's words as its context, so keywords alone favour it.
      turn('Bruno', 'Hiking up to the lake again, hiking there never gets old', NOW - 3 * DAY, 'Astrid: what are you up to this weekend, Bruno?'),
      turn('Astrid', 'Saturday I took the trail up to the lake with my sister, then hiking back down', NOW - 2 * DAY),
      turn('Chidi', 'The release notes are done', NOW - DAY),
    ]);
    // Without the stage the other speaker's turn, richer in the query's words, comes first.
    expect((await textsFor(memory, 'Where did Astrid go hiking?', { features: NO_FEATURES }))[0]).toMatch(/^Bruno/);
    expect((await textsFor(memory, 'Where did Astrid go hiking?'))[0]).toMatch(/^Astrid/);
  });

  it('prefers memories from the time a question names, absolute or relative', async () => {
    const memory = await open();
    await memory.semantic.saveMany([
      turn('Dana', 'We shipped the new search page to everyone', NOW - 40 * DAY),
      turn('Dana', 'We shipped the new billing page to everyone', NOW - 3 * DAY),
    ]);
    const query = 'what did we ship last week?';
    const withoutTime = await textsFor(memory, query, { features: NO_FEATURES });
    const withTime = await textsFor(memory, query);
    expect(withTime[0]).toMatch(/billing/);
    expect(withoutTime[0]).toMatch(/search page/);
  });

  it('gives the same order every time for the same question', async () => {
    const memory = await open();
    await memory.semantic.saveMany(
      Array.from({ length: 30 }, (_, i) => turn(i % 2 === 0 ? 'Eve' : 'Femi', `Note ${i}: the deploy went fine and the cache was warmed`, NOW - i * DAY)),
    );
    const first = await textsFor(memory, 'How did the deploy go for Eve?');
    for (let i = 0; i < 3; i++) expect(await textsFor(memory, 'How did the deploy go for Eve?')).toEqual(first);
    expect(first.every((t) => t.startsWith('Eve'))).toBe(true);
  });
});
