import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { recordVote } from '../../src/feedback/votes.js';
import { silentLogger } from '../../src/log.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';

const fake = useFakeOpenAi();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function app(): Promise<App> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cairn-votes-'));
  const created = await createApp(loadConfig({ OPENAI_BASE_URL: fake.baseURL, CAIRN_DATA_DIR: dir }, ['llm']), silentLogger());
  cleanups.push(() => rm(dir, { recursive: true, force: true }), () => created.close());
  return created;
}

const scope = { userId: 'u-ada', channelId: 'c-ops', guildId: 'g-1' };
/** Votes that teach, as the run's owner's (or on a report, the channel's) do. */
const owner = { teaches: true };

describe('lessons lose weight when the runs that followed them get 👎', () => {
  it('stops applying a lesson after repeated 👎, counting each person’s vote once', async () => {
    const cairn = await app();
    const { id: lessonId } = await cairn.memory.semantic.save({ text: 'When asked about deploy times: answer in UTC.', kind: 'lesson', scope, visibility: 'channel', importance: 0.8 });
    await cairn.memory.maintenance.refreshIndexes();
    const ask = async () => {
      fake.script({ kind: 'text', content: 'At 12:00 UTC.' });
      const result = await cairn.agent.run({ goal: 'What are the deploy times this week?', scope });
      return { result, prompt: JSON.stringify(fake.chatRequests().at(-1)?.messages[0]) };
    };
    const importance = async () => (await cairn.memory.semantic.get(lessonId))?.importance ?? 0;

    const first = await ask();
    expect(first.prompt).toContain('answer in UTC');
    expect((await cairn.memory.episodes.get(first.result.runId))?.appliedLessonIds).toEqual([lessonId]);
    await recordVote(cairn, first.result.runId, { userId: 'u-ada', vote: 'down', comment: null }, owner);
    await recordVote(cairn, first.result.runId, { userId: 'u-ada', vote: 'down', comment: null }, owner); // the same vote again
    // Toggling it off and on again still counts once.
    await recordVote(cairn, first.result.runId, { userId: 'u-ada', vote: 'up', comment: null }, owner);
    await recordVote(cairn, first.result.runId, { userId: 'u-ada', vote: 'down', comment: null }, owner);
    expect(await importance()).toBeCloseTo(0.48, 5);

    for (const voter of ['u-bob', 'u-carol']) {
      const run = await ask();
      expect(run.prompt).toContain('answer in UTC');
      await recordVote(cairn, run.result.runId, { userId: voter, vote: 'down', comment: null }, owner);
    }
    expect(await importance()).toBeCloseTo(0.8 * 0.6 ** 3, 5);
    expect((await ask()).prompt).not.toContain('answer in UTC');
  });

  it('stores a bystander’s 👎 on the run but changes no lesson and asks for no reflection', async () => {
    const cairn = await app();
    const { id: lessonId } = await cairn.memory.semantic.save({ text: 'When asked about deploy times: answer in UTC.', kind: 'lesson', scope, visibility: 'channel', importance: 0.8 });
    await cairn.memory.maintenance.refreshIndexes();
    fake.script({ kind: 'text', content: 'At 12:00 UTC.' });
    const { runId } = await cairn.agent.run({ goal: 'What are the deploy times this week?', scope });
    for (let i = 0; i < 5; i++) {
      await recordVote(cairn, runId, { userId: 'u-mallory', vote: 'down', comment: null }, { teaches: false });
      await recordVote(cairn, runId, { userId: 'u-mallory', vote: 'up', comment: null }, { teaches: false });
    }
    await recordVote(cairn, runId, { userId: 'u-mallory', vote: 'down', comment: 'bad' }, { teaches: false });
    expect((await cairn.memory.semantic.get(lessonId))?.importance).toBeCloseTo(0.8, 5);
    expect((await cairn.memory.episodes.get(runId))?.feedback).toMatchObject([{ userId: 'u-mallory', vote: 'down', comment: 'bad' }]);
    expect(await cairn.memory.db.reflections.countRows()).toBe(0);
  });
});
