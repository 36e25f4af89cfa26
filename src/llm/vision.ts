/**
 * CAIRN_VISION: whether image files reach the model as image parts. `on` always, `off` never,
 * `auto` when the model id is one of the known vision models below, or else when one tiny image
 * probe to its server (the first time a run has images for it) was taken; never once its server
 * has refused images in this process. Whatever the setting, a server that refuses image parts
 * gets the request again once without them (VisionFallbackModel), with a note in their place, so
 * a wrong guess costs one round trip, never the run.
 */
import type { Logger } from '../log.js';
import { OpenAiChatModel } from './client.js';
import { LlmError } from './errors.js';
import type { ChatMessage, ChatModel, ChatRequest, ChatResponse } from './types.js';

export const VISION_SETTINGS = ['auto', 'on', 'off'] as const;
export type VisionSetting = (typeof VISION_SETTINGS)[number];

/** Images sent with one message at most: each costs ~800 tokens and the server's time. */
export const MAX_IMAGES = 4;

/**
 * Model ids of families that take images through Chat Completions, matched anywhere in the id
 * (so "openai/gpt-4o" and "llava:13b" match). Conservative: a family is listed only when every
 * common size sees; text-only siblings (o1-mini, o3-mini, gpt-oss, gemma3:1b, mistral-small 3.0)
 * are excluded. A model missing here still sees with CAIRN_VISION=on (`cairn doctor` tells).
 */
const VISION_MODELS: readonly RegExp[] = [
  /gpt-4o(?!.*(audio|realtime|search|transcribe|tts))/, // gpt-4o, gpt-4o-mini
  /gpt-4\.1/,
  /gpt-4-turbo|gpt-4-vision/,
  /gpt-5(?!.*(codex|audio|realtime))/,
  /(^|\/)o1(?!-mini|-preview)(\b|-)|(^|\/)o3(?!-mini)(\b|-)|(^|\/)o4-mini/,
  /claude-(3|sonnet-4|opus-4|haiku-4|4)/,
  /gemini-(1\.5|2|3)|gemini-pro-vision/,
  /llava|bakllava/,
  /llama.?3\.2.*vision|llama-?4/,
  /qwen[\d.]*-?vl|qvq/,
  /minicpm-?v/,
  /pixtral/,
  /mistral-small.?3\.[12]|mistral-small-(2503|2506)/,
  /moondream|internvl|granite.?3\.2-vision|phi-3\.5-vision|phi-4-multimodal|smolvlm|idefics/,
];

/** gemma3 sees from 4b up; gemma3:1b (and gemma3n) do not. */
function gemmaSees(id: string): boolean {
  return /gemma-?3(?![n\d])/.test(id) && !/[-:_]1b\b/.test(id);
}

/** Whether the id names a model family known to take images (the `auto` table). */
export function knownVisionModel(modelId: string): boolean {
  const id = modelId.trim().toLowerCase();
  return VISION_MODELS.some((pattern) => pattern.test(id)) || gemmaSees(id);
}

/**
 * The servers' words for "no images for this model" (../shared/notes/model-servers.md §8):
 * - llama.cpp without --mmproj, 500: `image input is not supported - hint: if this is unexpected,
 *   you may need to provide the mmproj` (ClaraVerse#234, llamastash#13);
 * - OpenAI and Azure, 400: `Invalid content type. image_url is only supported by certain models.`
 *   (browser-use/web-ui#274, vllm#11629);
 * - Ollama, 400 `this model does not support image input` (ollama#17301) or 500 `…this model is
 *   missing data required for image input` (ollama PR #9741);
 * - vLLM, 400: `<model> is not a multimodal model` (dots.ocr#61);
 * - LM Studio: `Model does not support images. Please use a model that does.` (lmstudio-bug-tracker#908);
 * - OpenRouter, 404: `No endpoints found that support image input` (reported, unverified).
 */
const IMAGE_REFUSALS =
  /image input is not supported|does not support image|missing data required for image input|is not a multimodal model|image_url is only supported by certain models|Model does not support images|No endpoints found that support image input/i;

/** The server's words when `err` refuses image parts, else null (only the server's own text is read). */
export function imageRefusal(err: unknown): string | null {
  if (!(err instanceof LlmError) || err.detail === undefined) return null;
  if (err.kind !== 'bad_request' && err.kind !== 'server_error' && err.kind !== 'not_found') return null;
  return IMAGE_REFUSALS.test(err.detail) ? err.detail : null;
}

/** Model ids whose server refused image parts, with its words; one map per process by default. */
export type BlindModels = Map<string, string>;
const PROCESS_BLIND: BlindModels = new Map();

/** Whether runs on this model send images as image parts, by the table alone (no probe). */
export function modelSees(setting: VisionSetting, modelId: string, blind: BlindModels = PROCESS_BLIND): boolean {
  if (setting === 'off') return false;
  if (blind.has(modelId)) return false;
  return setting === 'on' || knownVisionModel(modelId);
}

export function hasImages(messages: readonly ChatMessage[]): boolean {
  return messages.some((m) => m.role === 'user' && (m.images?.length ?? 0) > 0);
}

/** The messages with every image taken out and a note in its place, saying why the model cannot see it. */
export function withoutImages(messages: readonly ChatMessage[], why: string): ChatMessage[] {
  return messages.map((message) => {
    if (message.role !== 'user' || (message.images?.length ?? 0) === 0) return message;
    const names = (message.images ?? []).map((image, i) => image.name ?? `image ${i + 1}`);
    const note = `[${names.length === 1 ? 'The image' : 'The images'} ${names.map((n) => JSON.stringify(n)).join(', ')} could not be shown to you: ${why}. ${names.length === 1 ? 'It is' : 'They are'} still in your workspace; do not describe ${names.length === 1 ? 'its' : 'their'} content as if you had seen it.]`;
    return { role: 'user', content: `${message.content}\n\n${note}` };
  });
}

export interface VisionFallbackOptions {
  log: Logger;
  /** Where refusals are remembered (default: one map for the process; tests pass their own). */
  blind?: BlindModels;
}

/**
 * A ChatModel that never lets image parts fail a request: when the server refuses them, the
 * model is remembered as blind for the process and the request is sent again, once, without them.
 */
export class VisionFallbackModel implements ChatModel {
  private readonly blind: BlindModels;

  constructor(
    private readonly inner: ChatModel,
    private readonly options: VisionFallbackOptions,
  ) {
    this.blind = options.blind ?? PROCESS_BLIND;
  }

  get model(): string {
    return this.inner.model;
  }

  async chat(request: ChatRequest): Promise<ChatResponse> {
    if (!hasImages(request.messages)) return this.inner.chat(request);
    const known = this.blind.get(this.model);
    if (known !== undefined) return this.inner.chat({ ...request, messages: withoutImages(request.messages, refusedWhy(known)) });
    try {
      return await this.inner.chat(request);
    } catch (err) {
      const words = request.signal?.aborted === true ? null : imageRefusal(err);
      if (words === null) throw err;
      if (!this.blind.has(this.model)) {
        this.blind.set(this.model, words);
        this.options.log.warn(
          { model: this.model, serverSaid: words },
          'The model server refused image input for this model; images are described as files from now on. Set CAIRN_VISION=off to skip the first try.',
        );
      }
      return this.inner.chat({ ...request, messages: withoutImages(request.messages, refusedWhy(words)) });
    }
  }
}

function refusedWhy(words: string): string {
  const short = words.length > 160 ? `${words.slice(0, 160)}…` : words;
  return `the model server refused image input ("${short}")`;
}

/** A 32×32 orange PNG: large enough for the patch sizes of Qwen-VL and LLaVA (28 and 14 pixels). */
export const PROBE_PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAIAAAD8GO2jAAAAKElEQVR42u3NsQkAAAgDsJ7u5/YKByGQPdnJqQgEAoFAIBAIBIIvQQHoo/xM3BB6yAAAAABJRU5ErkJggg==';
/** The probe's words; tests find the probe among a server's requests by them. */
export const PROBE_QUESTION = 'This is a connectivity check. What colour is this image? Answer in one word.';
/** How long a run waits for the probe before it treats the model as blind (a loading model answers slower). */
export const RUN_PROBE_TIMEOUT_MS = 10_000;

/** What a server did with one image part: took it, refused it in its own words, or failed otherwise. */
export type ProbeResult = { outcome: 'sees' } | { outcome: 'refused'; words: string } | { outcome: 'failed'; error: unknown };

/**
 * Sends one tiny image part to `chat` and says what the server did with it. `chat` must be a
 * plain client with no retries, not a VisionFallbackModel, which would hide a refusal.
 */
export async function probeVision(chat: ChatModel, signal: AbortSignal): Promise<ProbeResult> {
  try {
    await chat.chat({
      messages: [{ role: 'user', content: PROBE_QUESTION, images: [{ mimeType: 'image/png', data: PROBE_PNG_BASE64 }] }],
      temperature: 0,
      maxOutputTokens: 16,
      signal,
    });
    return { outcome: 'sees' };
  } catch (error) {
    const words = signal.aborted ? null : imageRefusal(error);
    return words === null ? { outcome: 'failed', error } : { outcome: 'refused', words };
  }
}

export type VisionProbe = (modelId: string, signal: AbortSignal) => Promise<ProbeResult>;

/** The probe against an OpenAI-compatible server: a fresh client for the model id, one attempt, no retries. */
export function serverProbe(server: { baseURL?: string | undefined; apiKey?: string | undefined; log: Logger; timeoutMs?: number }): VisionProbe {
  return (model, signal) =>
    probeVision(
      new OpenAiChatModel({
        model,
        ...(server.baseURL === undefined ? {} : { baseURL: server.baseURL }),
        ...(server.apiKey === undefined ? {} : { apiKey: server.apiKey }),
        timeoutMs: server.timeoutMs ?? RUN_PROBE_TIMEOUT_MS,
        maxRetries: 0,
        log: server.log,
      }),
      signal,
    );
}

/** Probe verdicts by model id, each asked once; one map per process by default (tests pass their own). */
export type ProbedModels = Map<string, Promise<boolean>>;
const PROCESS_PROBED: ProbedModels = new Map();

export interface ModelVisionOptions {
  setting: VisionSetting;
  probe: VisionProbe;
  log: Logger;
  timeoutMs?: number;
  blind?: BlindModels;
  probed?: ProbedModels;
}

/**
 * CAIRN_VISION for runs: `sees(modelId)` is asked only when a run has images. Under `auto` a model
 * missing from the table is probed once (concurrent runs share the one probe); a refusal, an
 * error or no answer within the timeout leaves it blind for the process.
 */
export class ModelVision {
  private readonly blind: BlindModels;
  private readonly probed: ProbedModels;

  constructor(private readonly options: ModelVisionOptions) {
    this.blind = options.blind ?? PROCESS_BLIND;
    this.probed = options.probed ?? PROCESS_PROBED;
  }

  /** Whether a run on `modelId` sends its images; a cancelled run stops waiting for the probe (the probe goes on for the next run). */
  readonly sees = async (modelId: string, signal?: AbortSignal): Promise<boolean> => {
    const { setting } = this.options;
    if (setting === 'off' || this.blind.has(modelId)) return false;
    if (setting === 'on' || knownVisionModel(modelId)) return true;
    let verdict = this.probed.get(modelId);
    if (verdict === undefined) {
      verdict = this.probe(modelId);
      this.probed.set(modelId, verdict);
    }
    return (await untilAborted(verdict, signal)) && !this.blind.has(modelId);
  };

  private async probe(modelId: string): Promise<boolean> {
    const timeoutMs = this.options.timeoutMs ?? RUN_PROBE_TIMEOUT_MS;
    let result: ProbeResult;
    try {
      result = await this.options.probe(modelId, AbortSignal.timeout(timeoutMs));
    } catch (error) {
      result = { outcome: 'failed', error };
    }
    const log = this.options.log;
    if (result.outcome === 'sees') {
      log.info({ model: modelId }, 'The model is not a known vision model, but its server took a test image: CAIRN_VISION=auto sends it images.');
      return true;
    }
    if (result.outcome === 'refused') {
      // Kept with the probe's verdict, not in the blind map: that map is for refusals of images a run sent.
      log.info({ model: modelId, serverSaid: result.words }, 'The model server refused a test image: images are described to this model as files.');
      return false;
    }
    log.warn(
      { model: modelId, err: result.error },
      'The test image for this model failed: images are described to it as files for the rest of the process. If the model sees images, set CAIRN_VISION=on.',
    );
    return false;
  }
}

/** `work`'s answer, or false as soon as `signal` aborts. */
function untilAborted(work: Promise<boolean>, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal === undefined) return work;
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    void work.then((sees) => {
      signal.removeEventListener('abort', onAbort);
      resolve(sees);
    });
  });
}
