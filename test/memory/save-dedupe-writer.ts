/**
 * Child process for save-two-process.test.ts: opens the database at argv[2], waits until the
 * wall-clock time argv[3] (so both writers start together), saves the same facts as its twin,
 * in the same order, in pairs (so some saves share a commit), and prints one JSON line: each
 * text's id and whether this process created it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../src/log.js';
import { Memory } from '../../src/memory/memory.js';
import { wordEmbedder } from './helpers.js';

const [dir = '', startAt = '0', count = '60'] = process.argv.slice(2);
const memory = await Memory.open({ uri: dir, embedder: wordEmbedder(), log: silentLogger() });
await sleep(Math.max(0, Number(startAt) - Date.now()));
const scope = { userId: 'u-twin', channelId: 'c-twin' };
const texts = Array.from({ length: Number(count) }, (_, i) => `shared fact number ${i} about the twins`);
const results = [];
for (let i = 0; i < texts.length; i += 2) {
  results.push(...(await Promise.all(texts.slice(i, i + 2).map((text) => memory.semantic.save({ text, kind: 'fact', scope, visibility: 'channel' })))));
}
process.stdout.write(`${JSON.stringify(results)}\n`);
await memory.close();
