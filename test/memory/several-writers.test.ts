/**
 * Three processes writing to one data directory at once (as a gateway and workers on one host
 * do): every acknowledged write is there afterwards — memories, votes and lessons on one run (a
 * read-modify-write of its row in three processes), runs of their own, settings and checkpoints.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Field, Schema, Utf8 } from 'apache-arrow';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { createEmbedder } from '../../src/memory/embedders/index.js';
import { DurableRunStore } from '../../src/durable/store.js';
import { Memory } from '../../src/memory/memory.js';
import { settingsSchema } from '../../src/memory/schema.js';
import { SettingsStore } from '../../src/settings/store.js';

const WRITER = fileURLToPath(new URL('../support/memory-writer.ts', import.meta.url));
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

function writer(dataDir: string, name: string, count: number): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dataDir, name, String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => {
      if (code === 0 && out.includes('done')) resolve();
      else reject(new Error(`writer ${name} exited with ${String(code)}: ${out}`));
    });
  });
}

describe('one data directory, three writing processes', () => {
  it('keeps every acknowledged memory, vote, lesson, run, setting and checkpoint', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cairn-writers-'));
    dirs.push(dataDir);
    const memory = await Memory.open({ uri: dataDir, embedder: await createEmbedder('local', { timeoutMs: 1_000, maxRetries: 0 }, silentLogger()), log: silentLogger() });
    await memory.episodes.begin({ id: 'shared-run', visibility: 'channel', goal: 'shared', mode: 'react', trigger: 'slash', scope: { userId: 'shared-user' }, startedAt: Date.now() });
    await memory.close();

    const names = ['gateway', 'worker-1', 'worker-2'];
    const count = 12;
    await Promise.all(names.map((name) => writer(dataDir, name, count)));

    const after = await Memory.open({ uri: dataDir, embedder: await createEmbedder('local', { timeoutMs: 1_000, maxRetries: 0 }, silentLogger()), log: silentLogger() });
    try {
      const facts = await after.semantic.list(`kind = 'fact'`, 1_000);
      expect(facts).toHaveLength(names.length * count);
      for (const name of names) for (let i = 0; i < count; i += 1) expect(facts.some((f) => f.text === `fact ${i} from ${name}: the pebble weighs ${i} grams`)).toBe(true);
      const votes = (await after.episodes.get('shared-run'))?.feedback ?? [];
      expect(votes.map((v) => v.userId).sort()).toEqual(names.flatMap((name) => Array.from({ length: count }, (_, i) => `${name}-voter-${i}`)).sort());
      const runs = await after.episodes.list(`id != 'shared-run'`, 1_000);
      expect(runs).toHaveLength(names.length * count);
      const lessons = await after.semantic.list(`kind = 'lesson'`, 1_000);
      expect(lessons).toHaveLength(names.length * count);
      expect([...((await after.episodes.get('shared-run'))?.lessonIds ?? [])].sort()).toEqual(lessons.map((l) => l.id).sort());
      const settings = await new SettingsStore(await after.db.table('settings', settingsSchema)).loadAll();
      expect(settings.records.map((r) => r.value).sort()).toEqual(names.flatMap((name) => Array.from({ length: count }, (_, i) => `${name}-${i}`)).sort());
      const journal = new DurableRunStore((table, schema) => after.db.table(table, schema), silentLogger());
      for (const name of names) for (let i = 0; i < count; i += 1) expect(await journal.entries(`${name}-run-${i}`)).toEqual([{ kind: 'memory', context: null, elapsedMs: i }]);
      await journal.close();
    } finally {
      await after.close();
    }
  }, 120_000);

  it('opens and creates tables when several processes start at once: none finds a table half made by another', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cairn-writers-'));
    dirs.push(dataDir);
    const embedder = await createEmbedder('local', { timeoutMs: 1_000, maxRetries: 0 }, silentLogger());
    // Separate connections, as separate processes have: each opens the database and the same new tables at once.
    const opened = await Promise.all(Array.from({ length: 4 }, () => Memory.open({ uri: dataDir, embedder, log: silentLogger(), shared: true })));
    try {
      const schema = new Schema([new Field('id', new Utf8(), false)]);
      for (const name of ['alpha', 'beta', 'gamma', 'delta', 'epsilon']) {
        const tables = await Promise.all(opened.map((memory) => memory.db.table(name, schema)));
        for (const table of tables) expect(await table.countRows()).toBe(0);
      }
    } finally {
      for (const memory of opened) await memory.close();
    }
  });
});
