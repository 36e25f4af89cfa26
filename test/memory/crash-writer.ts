/**
 * Child process for crash.test.ts: saves memories one at a time into the database at argv[2]
 * and prints each id once its save has resolved (= acknowledged), until it is killed.
 */
import { silentLogger } from '../../src/log.js';
import { Memory } from '../../src/memory/memory.js';
import { wordEmbedder } from './helpers.js';

const memory = await Memory.open({ uri: process.argv[2] ?? '', embedder: wordEmbedder(), log: silentLogger() });
const scope = { userId: 'u-crash', channelId: 'c-crash' };
for (let i = 0; ; i++) {
  const { id } = await memory.semantic.save({ text: `acknowledged fact number ${i}`, kind: 'fact', scope, visibility: 'channel' });
  process.stdout.write(`${id}\n`);
}
