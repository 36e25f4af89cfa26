import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { createEmbedder } from '../../src/memory/embedders/index.js';
import type { Memory } from '../../src/memory/memory.js';
import { readableScopes } from '../../src/memory/types.js';
import { useTempMemory } from './helpers.js';

const mem = useTempMemory();
const scope = { userId: 'u-1', channelId: 'c-1' };

/** A small team's memories; each query below names the one it should find. */
const MEMORIES = {
  deploy: 'Production deploys happen every Tuesday afternoon after the QA sign-off.',
  oncall: 'Priya is the on-call engineer for the payments service this week.',
  lunch: 'The team lunch is booked at the Thai restaurant on Friday at noon.',
  vpn: 'To reach the staging cluster you must connect through the corporate VPN first.',
  budget: 'The cloud budget for Q3 is capped at 12,000 dollars per month.',
  laptop: 'Omar dropped his laptop and is waiting for a replacement from IT.',
  coffee: 'The coffee machine on the third floor has been broken since Monday.',
  holiday: 'The office is closed for the national holiday on October 3rd.',
  dog: 'Lena adopted a rescue dog named Biscuit last month.',
  postgres: 'We are upgrading the main Postgres database to version 16 next sprint.',
  hiring: 'Two frontend engineer positions are open and interviews start in June.',
  marathon: 'Jun is training for the Berlin marathon and runs every morning.',
} as const;
type Key = keyof typeof MEMORIES;

/** Half share keywords with their memory; half are paraphrases that share none. */
const QUERIES: [string, Key][] = [
  ['when do we deploy to production?', 'deploy'],
  ['who is on call for payments?', 'oncall'],
  ['what is the Q3 cloud budget?', 'budget'],
  ['which Postgres version are we moving to?', 'postgres'],
  ['is the coffee machine fixed?', 'coffee'],
  ['what is the name of Lena’s dog?', 'dog'],
  ['where are we eating together at the end of the week?', 'lunch'],
  ['how do I get access to the test environment?', 'vpn'],
  ['whose computer got damaged?', 'laptop'],
  ['which colleague is preparing for a long-distance race?', 'marathon'],
  ['are we recruiting web developers?', 'hiring'],
  ['what day is the workplace shut?', 'holiday'],
];

async function seed(memory: Memory): Promise<Map<string, Key>> {
  const keys = Object.keys(MEMORIES) as Key[];
  const saved = await memory.semantic.saveMany(keys.map((k) => ({ text: MEMORIES[k], kind: 'fact' as const, scope, visibility: 'channel' as const })));
  return new Map(saved.map((s, i) => [s.id, keys[i] as Key]));
}

describe('recall quality with the offline embedder', () => {
  it('finds the right memory in the top 3 for keyword and paraphrase questions alike', async () => {
    const memory = await mem.open({ embedder: await createEmbedder('local', { timeoutMs: 1_000, maxRetries: 0 }, silentLogger()) });
    const keyOf = await seed(memory);
    const misses: string[] = [];
    let foundWithoutKeywords = 0;
    for (const [query, expected] of QUERIES) {
      const hits = await memory.semantic.recall({ query, scopes: readableScopes(scope), limit: 3 });
      const hit = hits.find((h) => keyOf.get(h.memory.id) === expected);
      if (hit === undefined) misses.push(`${query} → ${hits.map((h) => keyOf.get(h.memory.id)).join(', ')}`);
      else if (hit.explanation.textRank === null) foundWithoutKeywords += 1;
    }
    // Most paraphrases are reached (not all: a static word-vector embedder is no sentence model,
    // see README), and several of them only through the vectors, sharing no word with the query.
    expect(QUERIES.length - misses.length, misses.join('\n')).toBeGreaterThanOrEqual(9);
    expect(foundWithoutKeywords).toBeGreaterThanOrEqual(3);
  });
});
