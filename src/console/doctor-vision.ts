/**
 * `cairn doctor`'s vision row: sends one tiny image part to the configured model (the probe of
 * src/llm/vision.ts, which CAIRN_VISION=auto also sends once per model a run has images for) and
 * compares the server's answer with what CAIRN_VISION decides, so a text-only server behind a
 * vision model's name, or a server that takes images it may ignore, is found before a user's picture is.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { knownVisionModel, serverProbe } from '../llm/vision.js';
import { errorMessage, oneLine } from '../text.js';
import { bounded, type CheckResult } from './doctor-report.js';

const VISION_TIMEOUT_MS = 15_000;
const NAME = 'vision';

/** The probe image, kept here for callers that took it from the doctor. */
export { PROBE_PNG_BASE64 } from '../llm/vision.js';

export function visionCheck(config: Config, log: Logger): Promise<CheckResult[]> {
  const setting = config.llm.vision;
  const model = config.llm.model;
  if (setting === 'off') return Promise.resolve([{ name: NAME, status: 'skip', detail: 'CAIRN_VISION=off: image files are listed to the model as files it cannot see' }]);
  const known = knownVisionModel(model);
  // `on` and a known model: images are sent without asking; `auto` and an unknown model: as the probe says.
  const sendsWithoutProbe = setting === 'on' || known;
  return bounded({ name: NAME, timeoutMs: VISION_TIMEOUT_MS, onTimeout: 'warn', timeoutFix: 'The model may still be loading; run cairn doctor again.' }, async (signal) => {
    const probe = serverProbe({ baseURL: config.llm.baseURL, apiKey: config.llm.apiKey, log, timeoutMs: VISION_TIMEOUT_MS + 1_000 });
    const result = await probe(model, signal);
    if (result.outcome === 'failed') {
      const then = sendsWithoutProbe ? '' : ' (CAIRN_VISION=auto treats a model whose probe fails as one that cannot see)';
      return [{ name: NAME, status: 'warn', detail: `the image probe failed${then}: ${oneLine(errorMessage(result.error), 300)}`, fix: 'See the model server checks above.' }];
    }
    if (result.outcome === 'refused') {
      const said = `the server refused an image part: "${oneLine(result.words, 200)}"`;
      if (!sendsWithoutProbe) return [{ name: NAME, status: 'ok', detail: `${said}; CAIRN_VISION=auto finds the same with its probe, so image files are listed to "${model}" as files it cannot see` }];
      return [
        {
          name: NAME,
          status: 'warn',
          detail: `${said}, yet CAIRN_VISION=${setting} sends "${model}" images (each run then retries without them)`,
          fix: 'Set CAIRN_VISION=off, or serve the model with vision (llama.cpp: --mmproj; Ollama: a model with "vision" in its capabilities).',
        },
      ];
    }
    if (sendsWithoutProbe) return [{ name: NAME, status: 'ok', detail: `"${model}" takes image parts (CAIRN_VISION=${setting}${setting === 'auto' ? ': a known vision model' : ''})` }];
    return [
      {
        name: NAME,
        status: 'warn',
        detail: `"${model}" is not a known vision model, but its server accepted an image part, so CAIRN_VISION=auto sends it images (after one probe per process)`,
        fix: 'Some servers accept images and ignore them for text-only models: if this model does not see, set CAIRN_VISION=off. If it does, set CAIRN_VISION=on to skip the probe.',
      },
    ];
  });
}
