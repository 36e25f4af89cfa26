/**
 * Issue 12, compatibility profiles: the whole app as createApp builds it (real openai SDK,
 * OpenAiChatModel → ToolCallingModel (auto) → FitWindowModel with the discovered window) against
 * a fake server answering as each real server does (test/fakes/model-profiles.ts, facts from
 * ../shared/notes/model-servers.md). In every mode a run needing one tool call completes, the
 * answer carries no thoughts and no tool markup, and no prompt went over the server's window;
 * a 👎 turns into a lesson through the same server.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentMode } from '../../src/agent/events.js';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { recordVote } from '../../src/feedback/votes.js';
import { resolveContextWindow } from '../../src/llm/context-window.js';
import { silentLogger } from '../../src/log.js';
import { PROFILES, THOUGHT_MARK, profileHandler, viewOf } from '../fakes/model-profiles.js';
import { CLOCK_ANSWER, FILE_ANSWER, FILE_CHARS, LESSON, READ_UP_TO, clockBrain, fileBrain } from '../fakes/profile-brains.js';
import { bigFile } from '../fakes/openai-window.js';
import { fakePromptTokens, startFakeOpenAi, type FakeOpenAi } from '../fakes/openai-server.js';
import { cairn } from '../e2e/run-cli.js';

const ANSWER = CLOCK_ANSWER;
const scope = { userId: 'u-ada', userName: 'Ada', channelId: 'c-ops', guildId: 'g-1' };

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

    for (const mode of ['react', 'plan', 'reflexion'] as AgentMode[]) {
      it(`${mode}: reads a file ${FILE_CHARS / 1_000}k characters long in pieces that fit the ${p.window}-token window, and answers from it`, async () => {
        fake.reset();
        const offsets: number[] = [];
        const handler = profileHandler(p, fileBrain((offset) => offsets.push(offset)));
        fake.respondWith(handler);
        const workspaceDir = path.join(dir, 'workspaces', `long-${mode}`);
        await mkdir(workspaceDir, { recursive: true });
        await writeFile(path.join(workspaceDir, 'big.txt'), bigFile(FILE_CHARS));
        const result = await app.agent.run({ goal: 'Read big.txt and tell me what it holds.', mode, scope, workspaceDir });
        expect(result.reason ?? null).toBeNull();
        expect(result).toMatchObject({ status: 'succeeded', answer: FILE_ANSWER });
        // Each read went on where the last one stopped, by the hints in the results (reflexion's second attempt starts over).
        expect(offsets[0]).toBe(0);
        for (const [i, offset] of offsets.entries()) if (i > 0 && offset !== 0) expect(offset).toBeGreaterThan(offsets[i - 1] ?? 0);
        expect(offsets.at(-1)).toBeLessThan(READ_UP_TO);
        checkRequests(handler);
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
