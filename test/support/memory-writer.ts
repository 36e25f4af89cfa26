/**
 * One process writing to a shared data directory, for the several-writers test: memories, votes
 * and lessons on one shared run, runs of its own, settings and run checkpoints, all at once. argv: dataDir, writer name, count.
 * Prints "done" when every write has been acknowledged.
 */
import { DurableRunStore } from '../../src/durable/store.js';
import { settingsSchema } from '../../src/memory/schema.js';
import { settingId, SettingsStore } from '../../src/settings/store.js';
import { silentLogger } from '../../src/log.js';
import { createEmbedder } from '../../src/memory/embedders/index.js';
import { Memory } from '../../src/memory/memory.js';

const [dataDir, name, countText] = process.argv.slice(2);
if (dataDir === undefined || name === undefined) throw new Error('usage: memory-writer <dataDir> <name> <count>');
const count = Number(countText ?? '10');
const memory = await Memory.open({ uri: dataDir, embedder: await createEmbedder('local', { timeoutMs: 1_000, maxRetries: 0 }, silentLogger()), log: silentLogger(), shared: true });
const scope = { userId: 'shared-user', channelId: 'shared-channel' };
const log = silentLogger();
const settings = new SettingsStore(await memory.db.table('settings', settingsSchema));
const durable = new DurableRunStore((table, schema) => memory.db.table(table, schema), log);
/** A channel id of this writer's own (settings ids are Discord snowflakes: 17 to 20 digits). */
const writerNumber = Array.from({ length: name.length }, (_, k) => name.charCodeAt(k)).reduce((sum, code) => (sum * 31 + code) % 100_000, 7);
const channelOf = (i: number) => `1${String(writerNumber).padStart(5, '0')}${String(i).padStart(12, '0')}`;
await Promise.all(
  Array.from({ length: count }, async (_, i) => {
    await memory.semantic.save({ text: `fact ${i} from ${name}: the pebble weighs ${i} grams`, kind: 'fact', scope, visibility: 'channel' });
    await memory.episodes.vote('shared-run', { userId: `${name}-voter-${i}`, vote: i % 2 === 0 ? 'up' : 'down', comment: null, at: Date.now() });
    await memory.episodes.begin({ id: `${name}-run-${i}`, visibility: 'channel', goal: `goal ${i}`, mode: 'react', trigger: 'slash', scope, startedAt: Date.now() });
    const lesson = await memory.semantic.save({ text: `lesson ${i} from ${name}: weigh the pebble twice`, kind: 'lesson', scope, visibility: 'channel', sourceRunId: 'shared-run' });
    await memory.episodes.addLesson('shared-run', lesson.id);
    const channel = `${name}-${i}`;
    const record = { id: settingId('channel', channelOf(i), 'mode'), guildId: '100000000000000001', scopeKind: 'channel' as const, scopeId: channelOf(i), key: 'mode', value: channel, updatedBy: name, updatedAt: Date.now() };
    await settings.serialized(() => settings.put(record));
    await durable.journal(`${name}-run-${i}`, []).append([{ kind: 'memory', context: null, elapsedMs: i }]);
  }),
);
await durable.close();
await memory.close();
process.stdout.write('done\n');
