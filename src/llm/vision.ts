/**
 * CAIRN_VISION: whether image files reach the model as image parts. `on` always, `off` never,
 * `auto` when the model id is one of the known vision models below and its server has not
 * refused images in this process. Whatever the setting, a server that refuses image parts gets
 * the request again once without them (VisionFallbackModel), with a note in their place, so a
 * wrong guess costs one round trip, never the run.
 */
import type { Logger } from '../log.js';
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

/** Whether runs on this model send images as image parts. */
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
