/**
 * `cairn doctor`'s vision row: sends one tiny image part to the configured model and compares the
 * server's answer with what CAIRN_VISION decides (src/llm/vision.ts), so a vision model missing
 * from the known-models table, or a text-only server behind a vision model's name, is found
 * before a user's picture is.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { OpenAiChatModel } from '../llm/client.js';
import { imageRefusal, knownVisionModel } from '../llm/vision.js';
import { errorMessage, oneLine } from '../text.js';
import { bounded, type CheckResult } from './doctor-report.js';

const VISION_TIMEOUT_MS = 15_000;
const NAME = 'vision';

/** A 32×32 orange PNG: large enough for the patch sizes of Qwen-VL and LLaVA (28 and 14 pixels). */
export const PROBE_PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAIAAAD8GO2jAAAAKElEQVR42u3NsQkAAAgDsJ7u5/YKByGQPdnJqQgEAoFAIBAIBIIvQQHoo/xM3BB6yAAAAABJRU5ErkJggg==';

export function visionCheck(config: Config, log: Logger): Promise<CheckResult[]> {
  const setting = config.llm.vision;
  const model = config.llm.model;
  if (setting === 'off') return Promise.resolve([{ name: NAME, status: 'skip', detail: 'CAIRN_VISION=off: image files are listed to the model as files it cannot see' }]);
  const known = knownVisionModel(model);
  const sends = setting === 'on' || known;
  return bounded({ name: NAME, timeoutMs: VISION_TIMEOUT_MS, onTimeout: 'warn', timeoutFix: 'The model may still be loading; run cairn doctor again.' }, async (signal) => {
    const chat = new OpenAiChatModel({
      model,
      ...(config.llm.baseURL === undefined ? {} : { baseURL: config.llm.baseURL }),
      ...(config.llm.apiKey === undefined ? {} : { apiKey: config.llm.apiKey }),
      timeoutMs: VISION_TIMEOUT_MS + 1_000,
      maxRetries: 0,
      log,
    });
    try {
      await chat.chat({
        messages: [{ role: 'user', content: 'This is a connectivity check. What colour is this image? Answer in one word.', images: [{ mimeType: 'image/png', data: PROBE_PNG_BASE64 }] }],
        temperature: 0,
        maxOutputTokens: 16,
        signal,
      });
    } catch (err) {
      const words = imageRefusal(err);
      if (words === null) return [{ name: NAME, status: 'warn', detail: `the image probe failed: ${oneLine(errorMessage(err), 300)}`, fix: 'See the model server checks above.' }];
      const said = `the server refused an image part: "${oneLine(words, 200)}"`;
      if (!sends) return [{ name: NAME, status: 'ok', detail: `${said}; CAIRN_VISION=auto does not send images to "${model}", so image files are listed as files it cannot see` }];
      return [
        {
          name: NAME,
          status: 'warn',
          detail: `${said}, yet CAIRN_VISION=${setting} sends "${model}" images (each run then retries without them)`,
          fix: 'Set CAIRN_VISION=off, or serve the model with vision (llama.cpp: --mmproj; Ollama: a model with "vision" in its capabilities).',
        },
      ];
    }
    if (sends) return [{ name: NAME, status: 'ok', detail: `"${model}" takes image parts (CAIRN_VISION=${setting}${setting === 'auto' ? ': a known vision model' : ''})` }];
    return [
      {
        name: NAME,
        status: 'warn',
        detail: `the server accepted an image part, but "${model}" is not a known vision model, so CAIRN_VISION=auto does not send it images`,
        fix: 'If the model sees images (a VLM, an Ollama model with "vision" in its capabilities), set CAIRN_VISION=on. Some servers accept images and ignore them for text-only models.',
      },
    ];
  });
}
