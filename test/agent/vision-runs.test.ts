/**
 * Issue 14, images: through the whole app (createApp: OpenAiChatModel → VisionFallbackModel →
 * ToolCallingModel → FitWindowModel) against the fake server answering as real servers do
 * (test/fakes/model-profiles.ts). An image file reaches a vision model as an image part on the
 * goal message, never a text-only one under CAIRN_VISION=auto; a model missing from the
 * known-models table is asked once, with one tiny image, and sees if its server takes it; with
 * CAIRN_VISION=on a server's refusal costs one retry without the images, and the model is told
 * it could not see them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentMode } from '../../src/agent/events.js';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { PROBE_PNG_BASE64, PROBE_QUESTION } from '../../src/llm/vision.js';
import type { IncomingFile } from '../../src/files/types.js';
import { silentLogger } from '../../src/log.js';
import { profile, profileHandler, textOf, viewOf, VISION_PROFILE, type Brain, type ServerProfile } from '../fakes/model-profiles.js';
import { structuredIntent } from '../fakes/profile-brains.js';
import { startFakeOpenAi, type FakeOpenAi } from '../fakes/openai-server.js';

const chart: IncomingFile = { name: 'chart.png', kind: 'image', mimeType: 'image/png', bytes: Buffer.from(PROBE_PNG_BASE64, 'base64') };
const scope = { userId: 'u-ada', userName: 'Ada' };

/** Answers with how many images the request showing the goal carried; plans one task. */
function seeingBrain(): Brain {
  const state = { checks: 0, plans: 0 };
  return (view) => {
    const asked = structuredIntent(view, state, (n) => ({ tasks: [{ id: `t${n}`, title: 'Describe the chart', detail: 'Say what the image shows.', dependsOn: [] }] }));
    if (asked !== null) return asked;
    // A plan's synthesis (no tools) answers from its task's result, which said what was seen.
    const reported = /I (see \d image\(s\): [^.]+|cannot see an image)\./.exec(view.body.messages.map(textOf).join('\n'));
    if (view.tools === 'none' && reported !== null) return { kind: 'answer', text: reported[0] };
    return { kind: 'answer', text: view.images.length > 0 ? `I see ${view.images.length} image(s): ${view.images.join(', ')}.` : 'I cannot see an image.' };
  };
}

const opened: { app: App; fake: FakeOpenAi; dir: string }[] = [];
afterAll(async () => {
  for (const { app, fake, dir } of opened) {
    await app.close();
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  }
});

async function appFor(p: ServerProfile, vision: 'auto' | 'on'): Promise<{ app: App; fake: FakeOpenAi }> {
  const fake = await startFakeOpenAi(p.server);
  const dir = await mkdtemp(path.join(os.tmpdir(), `cairn-vision-${p.name}-`));
  const env = { OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: 'k', CAIRN_MODEL: p.model, CAIRN_DATA_DIR: dir, CAIRN_LLM_MAX_RETRIES: '1', CAIRN_VISION: vision };
  const app = await createApp(loadConfig(env, ['llm']), silentLogger(), { externalTools: false });
  opened.push({ app, fake, dir });
  return { app, fake };
}

/**
 * The goal message of each request that works on the goal (steps with tools, plans): its text and
 * how many image parts it carried. Syntheses and checks read results, not the picture.
 */
function goalTurns(fake: FakeOpenAi): { text: string; images: number }[] {
  return fake.chatRequests().flatMap((body) => {
    const view = viewOf(body);
    if (view.tools === 'none' && view.format !== 'plan') return [];
    const goal = body.messages.find((m) => m.role === 'user' && textOf(m).includes('What does the chart show?'));
    if (goal === undefined) return [];
    const parts = 'content' in goal && Array.isArray(goal.content) ? (goal.content as { type?: string }[]) : [];
    return [{ text: textOf(goal), images: parts.filter((part) => part.type === 'image_url').length }];
  });
}

/** The image probes CAIRN_VISION=auto sent (src/llm/vision.ts ModelVision). */
function probes(fake: FakeOpenAi): number {
  return fake.chatRequests().filter((body) => body.messages.some((m) => m.role === 'user' && textOf(m) === PROBE_QUESTION)).length;
}

/** A vision model (the vLLM Qwen2.5-VL profile) under a name the known-models table does not have. */
const UNKNOWN_VISION: ServerProfile = { ...VISION_PROFILE, model: 'acme/eyes-7b', server: { ...VISION_PROFILE.server, models: ['acme/eyes-7b'] } };

describe('an image file', () => {
  for (const mode of ['react', 'plan'] as AgentMode[]) {
    it(`${mode}: reaches a vision model (${VISION_PROFILE.model}) as an image part on the goal message`, async () => {
      const { app, fake } = await appFor(VISION_PROFILE, 'auto');
      const handler = profileHandler(VISION_PROFILE, seeingBrain());
      fake.respondWith(handler);
      const result = await app.agent.run({ goal: 'What does the chart show?', mode, scope, files: [chart] });
      expect(result.reason ?? null).toBeNull();
      expect(result.answer).toBe('I see 1 image(s): image/png.');
      const turns = goalTurns(fake);
      expect(turns.length).toBeGreaterThan(0);
      // Every request carrying the goal (steps, the plan, its task) carries the image with it.
      for (const turn of turns) expect(turn.images).toBe(1);
      expect(turns[0]?.text).toContain('- chart.png (image, 97 bytes): attached to this message as an image you can see');
      expect(handler.refused).toBe(0);
      // A known vision model: no probe.
      expect(probes(fake)).toBe(0);
    });
  }

  it('reaches a vision model the known-models table does not have after one probe, made once per model', async () => {
    const { app, fake } = await appFor(UNKNOWN_VISION, 'auto');
    fake.respondWith(profileHandler(UNKNOWN_VISION, seeingBrain()));
    const result = await app.agent.run({ goal: 'What does the chart show?', scope, files: [chart] });
    expect(result.reason ?? null).toBeNull();
    expect(result.answer).toBe('I see 1 image(s): image/png.');
    expect(probes(fake)).toBe(1);
    // The probe comes first, alone: its own request, not the run's.
    expect(textOf(fake.chatRequests()[0]?.messages[0] ?? { role: 'user', content: '' })).toBe(PROBE_QUESTION);
    const turns = goalTurns(fake);
    expect(turns.length).toBeGreaterThan(0);
    for (const turn of turns) expect(turn.images).toBe(1);
    // Two more runs, one of them at the same time as another: no second probe.
    const [again, other] = await Promise.all([
      app.agent.run({ goal: 'What does the chart show?', scope, files: [chart] }),
      app.agent.run({ goal: 'What does the chart show?', mode: 'plan', scope, files: [chart] }),
    ]);
    expect([again.answer, other.answer]).toEqual(['I see 1 image(s): image/png.', 'I see 1 image(s): image/png.']);
    expect(probes(fake)).toBe(1);
  });

  it('never reaches a text-only model under CAIRN_VISION=auto: one probe is refused, it is listed as an image the model cannot see, and runs go on', async () => {
    const p = profile('llamacpp');
    const { app, fake } = await appFor(p, 'auto');
    const handler = profileHandler(p, seeingBrain());
    fake.respondWith(handler);
    const result = await app.agent.run({ goal: 'What does the chart show?', scope, files: [chart] });
    expect(result.status).toBe('succeeded');
    expect(result.answer).toBe('I cannot see an image.');
    expect(goalTurns(fake).every((turn) => turn.images === 0)).toBe(true);
    // The probe was the one request refused.
    expect(probes(fake)).toBe(1);
    expect(handler.refused).toBe(1);
    expect(goalTurns(fake)[0]?.text).toContain('- chart.png (image, 97 bytes): an image the model cannot see (this model cannot see images); it is in your workspace for tools.');
    // The verdict is kept for the process: the next run asks nothing.
    const again = await app.agent.run({ goal: 'What does the chart show?', scope, files: [chart] });
    expect(again.answer).toBe('I cannot see an image.');
    expect(probes(fake)).toBe(1);
    expect(handler.refused).toBe(1);
  });

  it('a run without images probes nothing', async () => {
    const p = profile('lmstudio');
    const { app, fake } = await appFor({ ...p, model: 'lmstudio-no-images-asked', server: { ...p.server, models: ['lmstudio-no-images-asked'] } }, 'auto');
    fake.respondWith(profileHandler(p, seeingBrain()));
    const result = await app.agent.run({ goal: 'What does the chart show?', scope, files: [{ name: 'notes.txt', kind: 'text', mimeType: 'text/plain', bytes: Buffer.from('a chart of sales') }] });
    expect(result.status).toBe('succeeded');
    expect(probes(fake)).toBe(0);
  });

  for (const name of ['llamacpp', 'ollama-tools', 'vllm-bare', 'lmstudio', 'openrouter'] as const) {
    it(`CAIRN_VISION=on against ${name}, which refuses image parts: one retry without them, and the run goes on`, async () => {
      const p = profile(name);
      const { app, fake } = await appFor(p, 'on');
      const handler = profileHandler(p, seeingBrain());
      fake.respondWith(handler);
      const result = await app.agent.run({ goal: 'What does the chart show?', scope, files: [chart] });
      expect(result.reason ?? null).toBeNull();
      expect(result.answer).toBe('I cannot see an image.');
      const turns = goalTurns(fake);
      // The refused request, then the same without the image, with a note saying why.
      expect(turns[0]?.images).toBe(1);
      expect(turns.slice(1).every((turn) => turn.images === 0)).toBe(true);
      expect(turns[1]?.text).toContain('[The image "chart.png" could not be shown to you: the model server refused image input');
      expect(handler.refused).toBeGreaterThanOrEqual(1);
      // Learned for the process: the next run sends no image and says so from the start.
      fake.reset();
      fake.respondWith(profileHandler(p, seeingBrain()));
      const again = await app.agent.run({ goal: 'What does the chart show?', scope, files: [chart] });
      expect(again.status).toBe('succeeded');
      expect(goalTurns(fake).every((turn) => turn.images === 0)).toBe(true);
      expect(goalTurns(fake)[0]?.text).toContain('an image the model cannot see');
      // CAIRN_VISION=on trusts the setting: no probe.
      expect(probes(fake)).toBe(0);
    });
  }
});
