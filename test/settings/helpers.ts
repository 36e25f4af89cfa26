import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { afterEach } from 'vitest';
import { createLogger, type Logger } from '../../src/log.js';
import { settingsSchema } from '../../src/memory/schema.js';
import type { SettingsLimits } from '../../src/settings/types.js';

/** The process limits most tests use: two allowed models, 20 steps, $5 a person, approvals from high. */
export const LIMITS: SettingsLimits = {
  model: 'gpt-4o-mini',
  models: ['gpt-4o-mini', 'llama3.1:8b'],
  maxSteps: 20,
  approvalRisk: 'high',
  userDailyBudgetUsd: 5,
  serverDailyBudgetUsd: null,
  threads: false,
  toolNames: ['http_get', 'http_request', 'run_code', 'memory_save'],
};

/** Snowflake-shaped ids: a server, two channels, a thread of the first, another server. */
export const IDS = {
  guild: '100000000000000001',
  general: '100000000000000002',
  random: '100000000000000003',
  thread: '100000000000000004',
  otherGuild: '100000000000000005',
  otherChannel: '100000000000000006',
  admin: '100000000000000007',
};

/** A logger whose lines (parsed JSON) the test can read. */
export function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = {
    write(line: string) {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
  return { log: createLogger({ level: 'warn', pretty: false, destination }), lines };
}

/** A fresh `settings` table in a temporary database per call; all removed after the test. */
export function useSettingsTable(): () => Promise<{ table: lancedb.Table; reopen: () => Promise<lancedb.Table> }> {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  return async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-settings-test-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const open = async (create: boolean) => {
      const db = await lancedb.connect(dir);
      const table = create ? await db.createEmptyTable('settings', settingsSchema) : await db.openTable('settings');
      cleanups.push(() => {
        table.close();
        db.close();
        return Promise.resolve();
      });
      return table;
    };
    return { table: await open(true), reopen: () => open(false) };
  };
}
