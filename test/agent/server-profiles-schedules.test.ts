/**
 * Issue 12, scheduled runs against the compatibility profiles (test/fakes/model-profiles.ts): the
 * whole app as createApp builds it, the real Scheduler (createScheduler) with a recording delivery.
 * A firing's report carries no thoughts and no tool markup whatever the server does with them, no
 * prompt goes over the server's window, and the on-change comparison (a structured call) works
 * through each server's response_format quirks, with the previous report in the next run's briefing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createApp, createScheduler } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import type { Execution } from '../../src/scheduler/execute.js';
import type { FireOutcome } from '../../src/scheduler/scheduler.js';
import { PROFILES, THOUGHT_MARK, profileHandler, type Brain } from '../fakes/model-profiles.js';
import { fakePromptTokens, startFakeOpenAi } from '../fakes/openai-server.js';
import { RecordingDelivery } from '../scheduler/helpers.js';

const FIRST = 'It is noon in Oslo.';
/** The same finding in other words: the comparison must be asked, and say unchanged. */
const SECOND = 'In Oslo it is noon.';
const THOUGHTS = [THOUGHT_MARK, '<think>', '</think>'];
const LEAKS = [THOUGHT_MARK, '<think>', '</think>', '<tool_call>', '[TOOL_REQUEST]', '[TOOL_CALLS]', '<|python_tag|>', '"action"'];

/** Checks the clock, then reports; a run that was briefed with an earlier report words it differently. */
function reporterBrain(asked: { comparisons: number }): Brain {
  return (view) => {
    if (view.format === 'report_change') {
      asked.comparisons += 1;
      return { kind: 'json', value: { changed: false, what: '' } };
    }
    if (view.format !== null) throw new Error(`the brain was asked for an unexpected format: ${view.format}`);
    if (view.tools !== 'none' && !view.observed.includes('current_time')) return { kind: 'call', tool: 'current_time', arguments: { timezone: 'Europe/Oslo' } };
    return { kind: 'answer', text: JSON.stringify(view.body.messages).includes('Your previous report, from') ? SECOND : FIRST };
  };
}

async function done(outcome: FireOutcome): Promise<Execution> {
  if (!outcome.started) throw new Error(`not started: ${outcome.why}`);
  const execution = await outcome.done;
  if (execution === null) throw new Error('the scheduler stopped before the run');
  return execution;
}

const expectClean = (text: string) => {
  for (const leak of LEAKS) expect(text).not.toContain(leak);
};

describe('scheduled runs against server profiles', () => {
  for (const p of PROFILES) {
    it(`${p.name}: a firing posts a clean report; the next one is compared and briefed, inside the window`, { timeout: 15_000 }, async () => {
      const fake = await startFakeOpenAi(p.server);
      const dir = await mkdtemp(path.join(os.tmpdir(), `cairn-profile-schedule-${p.name}-`));
      const env = { OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: 'k', CAIRN_MODEL: p.model, CAIRN_DATA_DIR: dir, CAIRN_LLM_MAX_RETRIES: '1' };
      const app = await createApp(loadConfig(env, ['llm']), silentLogger());
      const delivery = new RecordingDelivery();
      const scheduler = createScheduler(app, delivery);
      try {
        const asked = { comparisons: 0 };
        const handler = profileHandler(p, reporterBrain(asked));
        fake.respondWith(handler);
        const { schedule } = await scheduler.add({
          cron: '0 9 * * *',
          timeZone: 'Europe/Oslo',
          goal: 'Report the time in Oslo',
          mode: 'react',
          notify: 'on-change',
          guildId: 'g1',
          channelId: 'c-reports',
          creatorId: 'u-ada',
          creatorName: 'Ada',
        });

        const first = await done(await scheduler.fire(schedule.id, 'manual'));
        expect(first.result.reason ?? null).toBeNull();
        expect(first).toMatchObject({ delivered: true, deliveryError: null, pausedReason: null, result: { status: 'succeeded', answer: FIRST } });
        expect(delivery.reports).toHaveLength(1);
        const report = delivery.reports[0]?.report;
        expect(report?.result.toolCalls.succeeded).toBeGreaterThanOrEqual(1);
        // Thoughts are kept as each step's reasoning (shown as "thinking", never posted); nowhere else in the report.
        const { steps = [], ...posted } = report ?? {};
        expectClean(JSON.stringify(posted));
        expectClean(JSON.stringify(steps.map(({ reasoning: _reasoning, ...step }) => step)));
        expect(steps.flatMap((s) => s.tools.map((t) => `${t.name}:${String(t.ok)}`))).toContain('current_time:true');
        expect((await scheduler.get(schedule.id))?.lastReport).toBe(FIRST);

        const second = await done(await scheduler.fire(schedule.id, 'manual'));
        expect(second).toMatchObject({ delivered: false, result: { status: 'succeeded', answer: SECOND } });
        // Not posted because the comparison, asked through this server, said unchanged (a failed one counts as changed).
        expect(asked.comparisons).toBe(1);
        expect(delivery.reports).toHaveLength(1);
        expect(await scheduler.get(schedule.id)).toMatchObject({ lastReport: FIRST, consecutiveFailures: 0, status: 'active' });

        const requests = fake.chatRequests();
        const briefed = requests.filter((body) => JSON.stringify(body.messages).includes('Your previous report, from'));
        expect(briefed.length).toBeGreaterThan(0);
        for (const body of requests) {
          expect(fakePromptTokens(body), 'a prompt over the window').toBeLessThanOrEqual(p.window);
          // Thoughts never go back to the server: not in Cairn's own turns, not in the briefing.
          for (const leak of THOUGHTS) expect(JSON.stringify(body.messages)).not.toContain(leak);
        }
        // The previous report in the briefing is the clean answer.
        for (const body of briefed) expect(JSON.stringify(body.messages)).toContain(`<<<\\n${FIRST}\\n>>>`);
        expect(handler.overWindow).toBe(0);
        if (p.reasoning !== undefined) expect(JSON.stringify(handler.replies)).toContain(THOUGHT_MARK);
      } finally {
        scheduler.stop();
        await scheduler.settled();
        await app.close();
        await fake.close();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
