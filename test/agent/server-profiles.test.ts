/**
 * Issue 12, compatibility profiles: the whole app as createApp builds it (real openai SDK,
 * OpenAiChatModel → ToolCallingModel (auto) → FitWindowModel with the discovered window) against
 * a fake server answering as each real server does (test/fakes/model-profiles.ts, facts from
 * ../shared/notes/model-servers.md). In every mode a run needing one tool call completes, the
 * answer carries no thoughts and no tool markup, and no prompt went over the server's window;
 * a 👎 turns into a lesson through the same server.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentMode } from '../../src/agent/events.js';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { recordVote } from '../../src/feedback/votes.js';
import { resolveContextWindow } from '../../src/llm/context-window.js';
import { silentLogger } from '../../src/log.js';
import { PROFILES, THOUGHT_MARK, profileHandler, viewOf, type Brain, type Intent } from '../fakes/model-profiles.js';
import { fakePromptTokens, startFakeOpenAi, type FakeOpenAi } from '../fakes/openai-server.js';
import { cairn } from '../e2e/run-cli.js';

const ANSWER = 'It is noon in Oslo.';
const LESSON = { wentWrong: 'It gave the time without the city.', doInstead: 'Name the city with the time.', appliesWhen: 'questions about the time somewhere' };
const scope = { userId: 'u-ada', userName: 'Ada', channelId: 'c-ops', guildId: 'g-1' };

/** A model that checks the clock once, then answers; plans, checks, reflections and lessons as JSON. */
function clockBrain(): Brain {
  let checks = 0;
  const json = (value: unknown): Intent => ({ kind: 'json', value });
  return (view) => {
    switch (view.format) {
      case 'plan':
        return json({ tasks: [{ id: 't1', title: 'Check the clock', detail: 'Read the time in Oslo with current_time.', dependsOn: [] }] });
      case 'completion_check':
        // Reflexion's first attempt falls short once, so a reflection and a second attempt happen too.
        checks += 1;
        return json(checks === 1 ? { met: false, missing: 'The answer must name the city.' } : { met: true, missing: '' });
      case 'attempt_reflection':
        return json({ whatWentWrong: 'The city was not named.', nextTime: 'Name Oslo in the answer.' });
      case 'lesson':
        return json(LESSON);
      case null:
        break;
      default:
        throw new Error(`the brain was asked for an unexpected format: ${view.format}`);
    }
    if (view.tools !== 'none' && !view.observed.includes('current_time')) return { kind: 'call', tool: 'current_time', arguments: { timezone: 'Europe/Oslo' } };
    return { kind: 'answer', text: ANSWER };
  };
}

const LEAKS = [THOUGHT_MARK, '<think>', '</think>', '<tool_call>', '[TOOL_REQUEST]', '"action"'];

for (const p of PROFILES) {
  describe(`against ${p.name}`, () => {
    let fake: FakeOpenAi;
    let dir: string;
    let app: App;
    beforeAll(async () => {
      fake = await startFakeOpenAi(p.server);
      dir = await mkdtemp(path.join(os.tmpdir(), `cairn-profile-${p.name}-`));
      const env = { OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: 'k', CAIRN_MODEL: p.model, CAIRN_DATA_DIR: dir, CAIRN_LLM_MAX_RETRIES: '1' };
      app = await createApp(loadConfig(env, ['llm']), silentLogger());
    });
    afterAll(async () => {
      await app.close();
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    });

    /** Requests so far, with the checks every profile must pass. */
    function checkRequests(handler: ReturnType<typeof profileHandler>): void {
      const requests = fake.chatRequests();
      expect(requests.length).toBeGreaterThan(0);
      for (const body of requests) expect(fakePromptTokens(body), 'a prompt over the window').toBeLessThanOrEqual(p.window);
      expect(handler.overWindow).toBe(0);
      const native = requests.filter((b) => viewOf(b).tools === 'native').length;
      // A server that refuses tools is asked once per process (auto mode switches); the others always get them.
      if (p.toolsRefusal !== undefined) expect(native).toBeLessThanOrEqual(1);
      else expect(native).toBeGreaterThan(0);
    }

    for (const mode of ['react', 'plan', 'reflexion'] as AgentMode[]) {
      it(`${mode}: calls the tool once and answers cleanly, inside the window`, async () => {
        fake.reset();
        const handler = profileHandler(p, clockBrain());
        fake.respondWith(handler);
        const result = await app.agent.run({ goal: 'What time is it in Oslo?', mode, scope });
        expect(result.reason ?? null).toBeNull();
        expect(result).toMatchObject({ status: 'succeeded', answer: ANSWER });
        expect(result.toolCalls.succeeded).toBeGreaterThanOrEqual(1);
        for (const leak of LEAKS) expect(result.answer).not.toContain(leak);
        checkRequests(handler);
        // The server's quirks were really exercised, not skipped.
        const sent = JSON.stringify(handler.replies);
        if (p.reasoning !== undefined) expect(sent).toContain(THOUGHT_MARK);
        if (p.rawCalls === 'lmstudio') expect(sent).toContain('[TOOL_REQUEST]');
        if (p.rawCalls === 'hermes' && mode === 'react') expect(sent).toContain('<tool_call>');
        if (p.toolsRefusal !== undefined && mode === 'react') expect(handler.refused).toBe(1);
      });
    }

    it('discovers the window the way this server publishes it', async () => {
      const found = await resolveContextWindow({ model: p.model, baseURL: fake.baseURL, apiKey: 'k' });
      expect(found.tokens).toBe(p.window);
    });

    it('turns a 👎 into a lesson through this server', async () => {
      fake.reset();
      const handler = profileHandler(p, clockBrain());
      fake.respondWith(handler);
      const { runId } = await app.agent.run({ goal: 'What time is it in Oslo?', scope });
      await recordVote(app, runId, { userId: 'u-ada', vote: 'down', comment: 'Say which city!' }, { teaches: true });
      await app.reflector.idle();
      const episode = await app.memory.episodes.get(runId);
      expect(episode?.lessonIds).toHaveLength(1);
      const lesson = await app.memory.semantic.get(episode?.lessonIds[0] ?? '');
      expect(lesson?.text).toContain(LESSON.doInstead);
      expect(lesson?.text).not.toContain(THOUGHT_MARK);
      checkRequests(handler);
    });
  });
}

/** `cairn chat` as a user runs it (a child process, piped input), streaming, against two servers' quirks. */
describe('cairn chat against profiles', { timeout: 30_000 }, () => {
  for (const p of PROFILES.filter((x) => x.name === 'ollama-reasoning' || x.name === 'vllm-bare')) {
    it(`${p.name}: answers a line that needs a tool, with no thoughts or markup on screen`, async () => {
      const fake = await startFakeOpenAi(p.server);
      const dir = await mkdtemp(path.join(os.tmpdir(), `cairn-chat-${p.name}-`));
      try {
        const handler = profileHandler(p, clockBrain());
        fake.respondWith(handler);
        const env = { OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: 'k', CAIRN_MODEL: p.model, CAIRN_DATA_DIR: path.join(dir, 'data'), CAIRN_LLM_MAX_RETRIES: '1' };
        const { code, stdout } = await cairn(['chat'], env, dir, 'What time is it in Oslo?\n/exit\n');
        expect(code).toBe(0);
        expect(stdout).toContain(ANSWER);
        // Thoughts are shown as each step's "thinking:" line, by design; nowhere else, and never as tags.
        const shown = stdout.split('\n').filter((line) => !line.startsWith('  thinking: PROFILE-THOUGHT-'));
        for (const leak of LEAKS) expect(shown.join('\n')).not.toContain(leak);
        expect(stdout).toMatch(/ {2}thinking: PROFILE-THOUGHT-1: /);
        expect(JSON.stringify(handler.replies)).toContain(THOUGHT_MARK);
        expect(fake.chatRequests().some((b) => viewOf(b).observed.includes('current_time'))).toBe(true);
        for (const body of fake.chatRequests()) expect(fakePromptTokens(body)).toBeLessThanOrEqual(p.window);
      } finally {
        await fake.close();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
