/**
 * Error replies as real OpenAI-compatible servers and the proxies in front of them send them,
 * byte for byte where the source is known, for scripting the fake server. Facts and sources:
 * ../shared/notes/model-servers.md §1 (shapes) and §5 (context-length messages).
 */
import type { ScriptedReply } from './openai-replies.js';

type ErrorReply = Extract<ScriptedReply, { kind: 'error' }>;
type StreamErrorReply = Extract<ScriptedReply, { kind: 'stream_error' }>;

const json = (status: number, value: unknown, extra: Partial<ErrorReply> = {}): ErrorReply => ({
  kind: 'error',
  status,
  body: JSON.stringify(value),
  contentType: 'application/json',
  ...extra,
});

/** `{"error":{"message","type","param","code"}}`: OpenAI, Ollama /v1, vLLM ≥0.10.1, llama.cpp, OpenRouter. */
export function openAiError(status: number, message: string, fields: Record<string, unknown> = {}): ErrorReply {
  return json(status, { error: { message, type: 'invalid_request_error', param: null, code: null, ...fields } });
}

/** OpenAI's context overflow (chatbot-ui#102): the `code` is what tells it apart. */
export const openAiContextOverflow = openAiError(
  400,
  "This model's maximum context length is 4097 tokens. However, you requested 4120 tokens (4000 in the messages, 120 in the completion). Please reduce the length of the messages or completion.",
  { param: 'messages', code: 'context_length_exceeded' },
);

/** llama.cpp's context overflow: numeric `code`, a `type` of its own, and the two token counts. */
export const llamaCppContextOverflow = json(400, {
  error: {
    code: 400,
    message: 'request (9412 tokens) exceeds the available context size (8192 tokens), try increasing it',
    type: 'exceed_context_size_error',
    n_prompt_tokens: 9412,
    n_ctx: 8192,
  },
});

/** `{"error":"X"}`, a bare string: LM Studio (and Ollama's native /api routes). v6 shows it JSON-quoted. */
export function lmStudioError(status: number, message: string): ErrorReply {
  return json(status, { error: message });
}

/**
 * `{"object":"error","message","type","param","code"}` at the top level: vLLM ≤0.10.0 (vllm#12886,
 * changed by PR #22099) and SGLang's `ErrorResponse`. openai v6 reads only `error`, so it reports
 * "400 status code (no body)" (cline#396).
 */
export function vllmFlatError(status: number, message: string): ErrorReply {
  return json(status, { object: 'error', message, type: 'BadRequestError', param: null, code: status });
}

/** FastAPI's `{"detail": "..."}` (HTTPException), as wrappers and proxies built on it send. */
export function fastApiDetail(status: number, detail: string): ErrorReply {
  return json(status, { detail });
}

/** FastAPI's request-validation 422: a list of `{type, loc, msg, input}` (pydantic v2 field names). */
export function fastApiValidation(issues: { loc: (string | number)[]; msg: string }[]): ErrorReply {
  return json(422, { detail: issues.map((issue) => ({ type: 'missing', ...issue, input: null })) });
}

/**
 * A text/plain body: Starlette (under vLLM and SGLang) answers an unhandled exception with
 * `Internal Server Error`; Gin (under Ollama) answers an unknown route with `404 page not found`.
 */
export function plainTextError(status: number, text: string): ErrorReply {
  return { kind: 'error', status, body: text, contentType: 'text/plain; charset=utf-8' };
}

/** nginx's stock 502 page, as a reverse proxy sends it when the model server behind it is down. */
export const nginxBadGateway: ErrorReply = {
  kind: 'error',
  status: 502,
  contentType: 'text/html',
  body:
    '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n' +
    '<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n',
};

/**
 * A failure after the stream began: vLLM and SGLang send `data: {"error":{…ErrorResponse…}}` and
 * then `[DONE]`; openai v6 throws it as an APIError with no status (notes §1).
 */
export function streamError(message: string, content = ''): StreamErrorReply {
  return {
    kind: 'stream_error',
    content,
    data: JSON.stringify({ error: { object: 'error', message, type: 'InternalServerError', param: null, code: 500 } }),
  };
}

/**
 * Refusals of `tools` (../shared/notes/model-servers.md §2 "Tool calling"), as each server words
 * them, for CAIRN_TOOL_CALLING=auto. Ollama: 400 from `CheckCapabilities`, prefixed with the model
 * name (ollama#14795, #5793; older builds send `type` `api_error`, newer `invalid_request_error`).
 */
export function ollamaNoTools(model = 'registry.ollama.ai/library/gemma3:4b'): ErrorReply {
  return json(400, { error: { message: `${model} does not support tools`, type: 'api_error', param: null, code: null } });
}

/** vLLM started without --enable-auto-tool-choice / --tool-call-parser (`check_tool_usage`; nested body since v0.10.1). */
export const vllmNoAutoToolChoice = json(400, {
  error: {
    message: '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set',
    type: 'BadRequestError',
    param: null,
    code: 400,
  },
});

/** OpenRouter, a model none of whose providers takes tools (fast-agent#122): a 404. */
export const openRouterNoToolEndpoints = json(404, {
  error: { message: 'No endpoints found that support tool use. To learn more about provider routing, visit: https://openrouter.ai/docs/provider-routing', code: 404 },
});

/** llama.cpp built before jinja was on by default (PR #17524), started without --jinja: a 500 (ramalama#988). */
export const llamaCppNoJinja = json(500, { error: { code: 500, message: 'tools param requires --jinja flag', type: 'server_error' } });

/**
 * Servers refusing a `response_format` (notes §4). llama.cpp builds that take only "text" and
 * "json_object" answer `json_schema` with a 500 `server_error` (ik_llama.cpp#778).
 */
export const llamaCppJsonSchemaRefused = json(500, {
  error: { code: 500, message: 'response_format type must be one of "text" or "json_object", but got: json_schema', type: 'server_error' },
});

/** vLLM when `json_schema` is missing from a `json_schema` response_format (as a proxy that drops it would send). */
export const vllmJsonSchemaMissing = json(400, {
  error: {
    message: "When response_format type is 'json_schema', the 'json_schema' field must be provided.",
    type: 'BadRequestError',
    param: null,
    code: 400,
  },
});

/** LM Studio before 0.3.18 refusing anything but `json_schema` (lmstudio-bug-tracker#307): a bare-string body. */
export const lmStudioOnlyJsonSchema = lmStudioError(400, "'response_format.type' must be 'json_schema'");

/**
 * vLLM's context overflow, current wording (`vllm/renderers/params.py`, notes §5), nested body
 * (v0.10.1+), for a window of `window` tokens. The note quotes the message up to the window size.
 */
export function vllmContextOverflow(window: number, inputTokens: number, outputTokens = 0): ErrorReply {
  return json(400, {
    error: {
      message: `You passed ${inputTokens} input tokens and requested ${outputTokens} output tokens. However, the model's context length is only ${window} tokens.`,
      type: 'BadRequestError',
      param: null,
      code: 400,
    },
  });
}

/** llama.cpp's overflow (as `llamaCppContextOverflow`) for any window and prompt size. */
export function llamaCppOverflow(nCtx: number, nPrompt: number): ErrorReply {
  return json(400, {
    error: {
      code: 400,
      message: `request (${nPrompt} tokens) exceeds the available context size (${nCtx} tokens), try increasing it`,
      type: 'exceed_context_size_error',
      n_prompt_tokens: nPrompt,
      n_ctx: nCtx,
    },
  });
}

/** Ollama with context shift off (`llm/llama_server.go`, notes §5, which quotes it up to the ";"); it states no window. */
export const ollamaPromptTooLong = openAiError(
  400,
  'the prompt is longer than the context length currently available to the model',
  { type: 'api_error' },
);

/**
 * Refusals of `image_url` content parts by a model that cannot see (../shared/notes/model-servers.md §8).
 * OpenAI, a model without vision: 400 with the offending part in `param` (browser-use/web-ui#274,
 * vllm#11629 quoting gpt-3.5's reply).
 */
export const openAiNoImages = openAiError(400, 'Invalid content type. image_url is only supported by certain models.', { param: 'messages.[1].content.[1].type' });

/** Ollama, a model whose capabilities lack `vision` (ollama#17301 "API Error: 400 this model does not support image input"). */
export const ollamaNoImages = json(400, { error: { message: 'this model does not support image input', type: 'api_error', param: null, code: null } });

/** vLLM serving a text-only model (dots.ocr#61 "facebook/opt-125m is not a multimodal model"). */
export function vllmNotMultimodal(model: string): ErrorReply {
  return json(400, { error: { message: `${model} is not a multimodal model`, type: 'BadRequestError', param: null, code: 400 } });
}

/** llama.cpp started without --mmproj: a 500 (ClaraVerse#234 quotes the body whole; llamastash#13 the status). */
export const llamaCppNoMmproj = json(500, {
  error: { code: 500, message: 'image input is not supported - hint: if this is unexpected, you may need to provide the mmproj', type: 'server_error' },
});

/** LM Studio, a model that is not a VLM (lmstudio-bug-tracker#908); a string body, as all its errors. */
export const lmStudioNoImages = lmStudioError(400, 'Model does not support images. Please use a model that does.');

/** OpenRouter, no provider of the model takes images (reported, wording unverified: notes §8). */
export const openRouterNoImageEndpoints = json(404, { error: { message: 'No endpoints found that support image input', code: 404 } });
