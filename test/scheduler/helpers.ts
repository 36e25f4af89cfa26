import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { createApp, createScheduler, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { DeliveryError, type Report, type ReportDelivery } from '../../src/scheduler/delivery.js';
import type { Scheduler } from '../../src/scheduler/scheduler.js';
import type { Schedule } from '../../src/scheduler/store.js';
import type { FakeOpenAi } from '../fakes/openai-server.js';

/** A delivery that records what it was given; it can be told to fail. */
export class RecordingDelivery implements ReportDelivery {
  readonly reports: { schedule: Schedule; report: Report }[] = [];
  readonly toldCreator: string[] = [];
  failWith: DeliveryError | null = null;

  deliver(schedule: Schedule, report: Report): Promise<void> {
    if (this.failWith !== null) return Promise.reject(this.failWith);
    this.reports.push({ schedule, report });
    return Promise.resolve();
  }

  tellCreator(_schedule: Schedule, message: string): Promise<void> {
    this.toldCreator.push(message);
    return Promise.resolve();
  }
}

export interface SchedulerHarness {
  app: App;
  scheduler: Scheduler;
  delivery: RecordingDelivery;
  /** Another scheduler on the same app (a restart of the scheduling side). */
  restart(): Scheduler;
}

/** The real app (agent, memory, LanceDB) against the fake model, with a recording delivery. */
export function useScheduler(openai: FakeOpenAi): (env?: Record<string, string>) => Promise<SchedulerHarness> {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  return async (env = {}) => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'cairn-schedule-test-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const config = loadConfig({ OPENAI_BASE_URL: openai.baseURL, CAIRN_MODEL: 'gpt-4o-mini', CAIRN_DATA_DIR: dataDir, CAIRN_LLM_MAX_RETRIES: '0', ...env }, ['llm']);
    const app = await createApp(config, silentLogger());
    cleanups.push(() => app.close());
    const delivery = new RecordingDelivery();
    const make = () => {
      const scheduler = createScheduler(app, delivery);
      cleanups.push(async () => {
        scheduler.stop();
        await scheduler.settled();
      });
      return scheduler;
    };
    return { app, scheduler: make(), delivery, restart: make };
  };
}

export const CHANNEL = { guildId: 'g1', channelId: 'c-reports', creatorId: 'u-ada', creatorName: 'Ada' } as const;
