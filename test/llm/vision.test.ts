/**
 * Issue 14, images on the wire: a user message's images become Chat Completions content parts
 * (data URIs), count a fixed figure in estimates, survive prompt-mode tools, are cut last (with a
 * note) by the prompt fitter, and a server's refusal is answered once without them.
 */
import { describe, expect, it } from 'vitest';
import { OpenAiChatModel } from '../../src/llm/client.js';
import { toPromptMessages } from '../../src/llm/prompt-tools.js';
import { fitMessages } from '../../src/llm/shrink-prompt.js';
import { IMAGE_TOKENS, estimateTokens } from '../../src/llm/tokens.js';
import type { ChatMessage, ImagePart } from '../../src/llm/types.js';
import {
  knownVisionModel,
  modelSees,
  ModelVision,
  probeVision,
  PROBE_QUESTION,
  VisionFallbackModel,
  type BlindModels,
  type ProbeResult,
  type VisionProbe,
} from '../../src/llm/vision.js';
import { buildParams, toWireMessage } from '../../src/llm/wire.js';
import { silentLogger } from '../../src/log.js';
import { imagesOf, textOf } from '../fakes/openai-content.js';
import { llamaCppNoMmproj, openAiNoImages } from '../fakes/openai-error-bodies.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';

const png: ImagePart = { mimeType: 'image/png', data: 'iVBORw0KGgo=', name: 'chart.png' };
const jpeg: ImagePart = { mimeType: 'image/jpeg', data: '/9j/4AAQ', name: 'photo.jpg' };

describe('the wire mapping of image parts', () => {
  it('sends text then each image as an image_url data URI; a user turn without images stays a string', () => {
    expect(toWireMessage({ role: 'user', content: 'What is this?', images: [png, jpeg] })).toEqual({
      role: 'user',
      content: [
        { type: 'text', text: 'What is this?' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } },
      ],
    });
    expect(toWireMessage({ role: 'user', content: 'plain', images: [] })).toEqual({ role: 'user', content: 'plain' });
    const params = buildParams('m', { messages: [{ role: 'system', content: 'rules' }, { role: 'user', content: 'goal', images: [png] }] });
    expect(params.messages[0]).toEqual({ role: 'system', content: 'rules' });
  });

  it(`counts each image as ${IMAGE_TOKENS} tokens, whatever its size`, () => {
    const text: ChatMessage = { role: 'user', content: 'x'.repeat(400) };
    expect(estimateTokens([{ ...text, images: [png, jpeg] }]) - estimateTokens([text])).toBe(2 * IMAGE_TOKENS);
  });

  it('keeps the images when prompt-mode tools merge user turns', () => {
    const messages = toPromptMessages(
      [
        { role: 'system', content: 'rules' },
        { role: 'user', content: 'earlier' },
        { role: 'user', content: 'the goal', images: [png] },
      ],
      [{ name: 'ping', description: 'p', parameters: { type: 'object' } }],
    );
    expect(messages[1]).toMatchObject({ role: 'user', content: 'earlier\n\nthe goal', images: [png] });
  });

  it('cuts images last, each replaced by a note that names it, never silently', () => {
    const goal: ChatMessage = { role: 'user', content: 'Compare the two pictures.', images: [png, jpeg] };
    const messages: ChatMessage[] = [{ role: 'system', content: 'rules' }, goal];
    const roomy = fitMessages(messages, undefined, 10_000);
    expect(roomy.messages[1]).toEqual(goal);
    const tight = fitMessages(messages, undefined, IMAGE_TOKENS + 100);
    expect(tight.fits).toBe(true);
    expect(tight.messages[1]).toEqual({
      role: 'user',
      content: 'Compare the two pictures.\n\n[Left out to fit the model\'s context window, so you cannot see it: the image "photo.jpg". It is still in your workspace.]',
      images: [png],
    });
    expect(tight.cuts).toContain('1 image');
  });
});

describe('CAIRN_VISION', () => {
  it.each([
    ['gpt-4o-mini', true],
    ['openai/gpt-4.1', true],
    ['gpt-5-mini', true],
    ['o3', true],
    ['o3-mini', false],
    ['o1-mini', false],
    ['gpt-oss:20b', false],
    ['gpt-3.5-turbo', false],
    ['claude-3-5-sonnet-latest', true],
    ['claude-sonnet-4-5', true],
    ['gemini-2.5-flash', true],
    ['llava:13b', true],
    ['llama3.2-vision:11b', true],
    ['llama3.1:8b', false],
    ['Qwen/Qwen2.5-VL-7B-Instruct', true],
    ['qwen2.5vl:7b', true],
    ['Qwen/Qwen3-8B', false],
    ['gemma3:4b', true],
    ['gemma3:1b', false],
    ['minicpm-v', true],
    ['mistral-small3.1:24b', true],
    ['mistral-small:24b', false],
    ['qwen3-8b-q4_k_m.gguf', false],
  ])('auto: %s sees: %s', (model, sees) => {
    expect(knownVisionModel(model)).toBe(sees);
    expect(modelSees('auto', model, new Map())).toBe(sees);
  });

  it('on sends images to any model, off to none, and a refusal in this process wins over both tables', () => {
    const blind: BlindModels = new Map([['gpt-4o', 'refused']]);
    expect(modelSees('on', 'llama3.1:8b', new Map())).toBe(true);
    expect(modelSees('off', 'gpt-4o', new Map())).toBe(false);
    expect(modelSees('auto', 'gpt-4o', blind)).toBe(false);
    expect(modelSees('on', 'gpt-4o', blind)).toBe(false);
  });
});

describe('VisionFallbackModel', () => {
  const fake = useFakeOpenAi();
  const client = (model: string) => new OpenAiChatModel({ model, baseURL: fake.baseURL, apiKey: 'k', timeoutMs: 5_000, maxRetries: 2, retryBaseDelayMs: 5, log: silentLogger() });

  it.each([
    ['OpenAI', openAiNoImages, 'Invalid content type. image_url is only supported by certain models.'],
    ['llama.cpp (a 500, not retried)', llamaCppNoMmproj, 'image input is not supported'],
  ])('answers a refusal by %s with one retry without the images, then remembers it', async (_, refusal, words) => {
    fake.script(refusal, { kind: 'text', content: 'It is a file.' }, { kind: 'text', content: 'Again.' });
    const blind: BlindModels = new Map();
    const model = new VisionFallbackModel(client('text-only'), { log: silentLogger(), blind });
    const reply = await model.chat({ messages: [{ role: 'user', content: 'What is in it?', images: [png] }] });
    expect(reply.content).toBe('It is a file.');
    const [refused, retried] = fake.chatRequests();
    expect(refused === undefined ? [] : imagesOf(refused)).toEqual(['image/png']);
    expect(retried === undefined ? [] : imagesOf(retried)).toEqual([]);
    const note = retried?.messages[0] === undefined ? '' : textOf(retried.messages[0]);
    expect(note).toContain('What is in it?');
    expect(note).toContain('[The image "chart.png" could not be shown to you: the model server refused image input');
    expect(note).toContain(words);
    expect(blind.get('text-only')).toContain(words);
    // Learned: the next request goes without images at once.
    await model.chat({ messages: [{ role: 'user', content: 'And now?', images: [png] }] });
    expect(fake.chatRequests()).toHaveLength(3);
    expect(imagesOf(fake.chatRequests()[2] ?? { model: '', messages: [] })).toEqual([]);
  });

  it('passes other errors on untouched', async () => {
    fake.script({ kind: 'error', status: 400, message: 'Unsupported parameter: temperature' });
    const model = new VisionFallbackModel(client('m'), { log: silentLogger(), blind: new Map() });
    await expect(model.chat({ messages: [{ role: 'user', content: 'x', images: [png] }] })).rejects.toThrow('Unsupported parameter');
    expect(fake.chatRequests()).toHaveLength(1);
  });
});

describe('CAIRN_VISION=auto and its probe', () => {
  const fake = useFakeOpenAi();
  const client = (model: string) => new OpenAiChatModel({ model, baseURL: fake.baseURL, apiKey: 'k', timeoutMs: 5_000, maxRetries: 0, log: silentLogger() });

  /** A probe that counts its calls and answers with `result` once `release` is called. */
  function heldProbe(result: ProbeResult): { probe: VisionProbe; calls: string[]; release: () => void } {
    const calls: string[] = [];
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    return {
      calls,
      release: () => {
        release();
      },
      probe: async (model) => {
        calls.push(model);
        await held;
        return result;
      },
    };
  }

  it('sends one image part and reads what the server did: took it, refused it, or failed', async () => {
    fake.script({ kind: 'text', content: 'Orange.' }, llamaCppNoMmproj, { kind: 'error', status: 401, message: 'Incorrect API key provided' });
    expect(await probeVision(client('m'), AbortSignal.timeout(5_000))).toEqual({ outcome: 'sees' });
    expect(await probeVision(client('m'), AbortSignal.timeout(5_000))).toMatchObject({ outcome: 'refused', words: expect.stringContaining('image input is not supported') as unknown });
    expect((await probeVision(client('m'), AbortSignal.timeout(5_000))).outcome).toBe('failed');
    const [first] = fake.chatRequests();
    expect(first === undefined ? '' : textOf(first.messages[0] ?? { role: 'user', content: '' })).toBe(PROBE_QUESTION);
    expect(first === undefined ? [] : imagesOf(first)).toEqual(['image/png']);
  });

  it('asks the probe only for a model the table does not know, once, however many runs ask at the same time', async () => {
    const { probe, calls, release } = heldProbe({ outcome: 'sees' });
    const vision = new ModelVision({ setting: 'auto', probe, log: silentLogger(), blind: new Map(), probed: new Map() });
    expect(await vision.sees('gpt-4o-mini')).toBe(true);
    const asked = [vision.sees('acme/eyes'), vision.sees('acme/eyes'), vision.sees('acme/eyes')];
    release();
    expect(await Promise.all(asked)).toEqual([true, true, true]);
    expect(await vision.sees('acme/eyes')).toBe(true);
    expect(calls).toEqual(['acme/eyes']);
  });

  it('a refusal, an error, a probe that throws or one that never answers leaves the model blind, and is not asked again', async () => {
    const cases: VisionProbe[] = [
      () => Promise.resolve({ outcome: 'refused', words: 'image input is not supported' }),
      () => Promise.resolve({ outcome: 'failed', error: new Error('connection refused') }),
      () => Promise.reject(new Error('boom')),
      (_, signal) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => {
            resolve({ outcome: 'failed', error: signal.reason });
          });
        }),
    ];
    for (const answer of cases) {
      let calls = 0;
      const probe: VisionProbe = (model, signal) => {
        calls += 1;
        return answer(model, signal);
      };
      const vision = new ModelVision({ setting: 'auto', probe, log: silentLogger(), timeoutMs: 20, blind: new Map(), probed: new Map() });
      expect(await vision.sees('acme/text')).toBe(false);
      expect(await vision.sees('acme/text')).toBe(false);
      expect(calls).toBe(1);
    }
  });

  it('on and off never probe, and a refusal of a run\'s images wins over a probe that took one', async () => {
    const { probe, calls, release } = heldProbe({ outcome: 'sees' });
    release();
    const blind: BlindModels = new Map();
    expect(await new ModelVision({ setting: 'on', probe, log: silentLogger(), blind, probed: new Map() }).sees('acme/eyes')).toBe(true);
    expect(await new ModelVision({ setting: 'off', probe, log: silentLogger(), blind, probed: new Map() }).sees('gpt-4o')).toBe(false);
    expect(calls).toEqual([]);
    const auto = new ModelVision({ setting: 'auto', probe, log: silentLogger(), blind, probed: new Map() });
    expect(await auto.sees('acme/eyes')).toBe(true);
    blind.set('acme/eyes', 'image input is not supported');
    expect(await auto.sees('acme/eyes')).toBe(false);
  });

  it('a cancelled run stops waiting; the probe goes on and the next run has its answer', async () => {
    const { probe, calls, release } = heldProbe({ outcome: 'sees' });
    const vision = new ModelVision({ setting: 'auto', probe, log: silentLogger(), blind: new Map(), probed: new Map() });
    const controller = new AbortController();
    const waiting = vision.sees('acme/eyes', controller.signal);
    controller.abort();
    expect(await waiting).toBe(false);
    release();
    expect(await vision.sees('acme/eyes')).toBe(true);
    expect(calls).toEqual(['acme/eyes']);
  });
});
