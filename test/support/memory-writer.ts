/**
 * One process writing to a shared data directory, for the several-writers test: memories, votes
 * on one shared run, and runs of its own, all at once. argv: dataDir, writer name, count.
 * Prints "done" when every write has been acknowledged.
 */
import { silentLogger } from '../../src/log.js';
import { createEmbedder } from '../../src/memory/embedders/index.js';
import { Memory } from '../../src/memory/memory.js';

const [dataDir, name, countText] = process.argv.slice(2);
if (dataDir === undefined || name === undefined) throw new Error('usage: memory-writer <dataDir> <name> <count>');
const count = Number(countText ?? '10');
const memory = await Memory.open({ uri: dataDir, embedder: await createEmbedder('local', { timeoutMs: 1_000, maxRetries: 0 }, silentLogger()), log: silentLogger(), shared: true });
const scope = { userId: 'shared-user', channelId: 'shared-channel' };
await Promise.all(
  Array.from({ length: count }, async (_, i) => {
    await memory.semantic.save({ text: `fact ${i} from ${name}: the pebble weighs ${i} grams`, kind: 'fact', scope, visibility: 'channel' });
    await memory.episodes.vote('shared-run', { userId: `${name}-voter-${i}`, vote: i % 2 === 0 ? 'up' : 'down', comment: null, at: Date.now() });
    await memory.episodes.begin({ id: `${name}-run-${i}`, visibility: 'channel', goal: `goal ${i}`, mode: 'react', trigger: 'slash', scope, startedAt: Date.now() });
  }),
);
await memory.close();
process.stdout.write('done\n');
