import { describe, expect, it } from 'vitest';
import { errorValueText, extractServerError, MAX_ERROR_BODY_BYTES, MAX_MESSAGE_CHARS } from '../../src/llm/error-body.js';
import { errorBodyFetch, readBounded } from '../../src/llm/error-fetch.js';
import { cleanDetail, maskSecrets } from '../../src/llm/errors.js';

const extract = (body: unknown, status = 400, contentType: string | null = 'application/json', secrets: string[] = []) =>
  extractServerError({ status, body: typeof body === 'string' ? body : JSON.stringify(body), contentType, secrets });

describe('extractServerError: JSON shapes', () => {
  it('reads OpenAI\'s nested error and keeps its code, type and param', () => {
    const found = extract({
      error: { message: "This model's maximum context length is 4097 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' },
    });
    expect(found).toEqual({
      message: "This model's maximum context length is 4097 tokens.",
      fields: { type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' },
    });
  });

  it("keeps llama.cpp's numeric code, its own type and the token counts", () => {
    const found = extract({
      error: { code: 400, message: 'request (9412 tokens) exceeds the available context size (8192 tokens), try increasing it', type: 'exceed_context_size_error', n_prompt_tokens: 9412, n_ctx: 8192 },
    });
    expect(found.message).toBe('request (9412 tokens) exceeds the available context size (8192 tokens), try increasing it');
    expect(found.fields).toEqual({ code: 400, type: 'exceed_context_size_error', n_prompt_tokens: 9412, n_ctx: 8192 });
  });

  it("reads LM Studio's bare string error without JSON quotes", () => {
    expect(extract({ error: 'Model does not support images. Please use a model that does.' })).toEqual({
      message: 'Model does not support images. Please use a model that does.',
      fields: {},
    });
  });

  it("reads vLLM ≤0.10.0 and SGLang's flat error, dropping object: 'error'", () => {
    const found = extract({ object: 'error', message: 'The input (9000 tokens) is longer than the model\'s context length (8192 tokens).', type: 'BadRequestError', param: null, code: 400 });
    expect(found.message).toBe("The input (9000 tokens) is longer than the model's context length (8192 tokens).");
    expect(found.fields).toEqual({ type: 'BadRequestError', param: null, code: 400 });
  });

  it("reads FastAPI's detail string and validation list", () => {
    expect(extract({ detail: 'Not Found' }, 404).message).toBe('Not Found');
    const list = {
      detail: [
        { type: 'missing', loc: ['body', 'messages', 0, 'content'], msg: 'Field required', input: {} },
        { type: 'missing', loc: ['body', 'model'], msg: 'Field required', input: {} },
        { weird: true },
      ],
    };
    expect(extract(list, 422).message).toBe('messages.0.content: Field required; model: Field required; {"weird":true}');
  });

  it("follows OpenRouter's metadata.raw to the provider's own words", () => {
    const raw = JSON.stringify({ object: 'error', message: 'CUDA out of memory', code: 500 });
    const found = extract({ error: { message: 'Provider returned error', code: 502, metadata: { raw, provider_name: 'Chutes' } } }, 502);
    expect(found.message).toBe('Provider returned error: CUDA out of memory');
    expect(found.fields).toEqual({ code: 502 });
  });

  it('shows JSON in no known shape compactly rather than saying nothing', () => {
    expect(extract({ errors: ['quota gone'] }).message).toBe('{"errors":["quota gone"]}');
    expect(extract({ error: { code: 500 } }, 500)).toEqual({ message: '{"error":{"code":500}}', fields: { code: 500 } });
  });

  it('parses JSON whatever the content type says, and reads broken JSON as text', () => {
    expect(extract({ error: 'from a text/plain label' }, 400, 'text/plain').message).toBe('from a text/plain label');
    expect(extract('{"error": {"message": "cut', 400).message).toBe('{"error": {"message": "cut');
  });
});

describe('extractServerError: text and HTML', () => {
  it('keeps plain text, collapsing whitespace', () => {
    expect(extract('Internal Server Error\n', 500, 'text/plain').message).toBe('Internal Server Error');
    expect(extract('  upstream\n\n  timed   out ', 504, null).message).toBe('upstream timed out');
  });

  it('drops a leading status number that repeats the status (Gin, nginx)', () => {
    expect(extract('404 page not found', 404, 'text/plain').message).toBe('page not found');
    expect(extract('404 page not found', 400, 'text/plain').message).toBe('404 page not found');
    expect(extract('404', 404, 'text/plain').message).toBe('404');
  });

  it('reduces an HTML page to its title, else its first heading, else nothing', () => {
    const nginx = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>';
    expect(extract(nginx, 502, 'text/html')).toEqual({ message: 'Bad Gateway', fields: {} });
    expect(extract('<!DOCTYPE html><body><h2>Tunnel <b>closed</b> &amp; gone&#33;</h2><p>details</p></body>', 530, null).message).toBe(
      'Tunnel closed & gone!',
    );
    expect(extract('<html><body><p>only a paragraph</p></body></html>', 502, 'text/html; charset=utf-8')).toEqual({ fields: {} });
  });

  it('says nothing for an empty body', () => {
    expect(extract('', 500, null)).toEqual({ fields: {} });
    expect(extract('   ', 500, null)).toEqual({ fields: {} });
  });
});

describe('extractServerError: bounds and secrets', () => {
  it('cuts a long message, masking secrets before the cut so no prefix of one survives', () => {
    const secret = 'cairn-secret-0123456789abcdef';
    const body = `${'x'.repeat(MAX_MESSAGE_CHARS - 10)} ${secret} tail`;
    const found = extract(body, 400, 'text/plain', [secret]);
    expect(found.message).toHaveLength(MAX_MESSAGE_CHARS);
    expect(found.message?.endsWith('…')).toBe(true);
    expect(found.message).not.toContain('cairn-sec');
  });

  it('masks secrets in the message and in the kept fields', () => {
    const secret = 'local-key-0123456789';
    const found = extract({ error: { message: `bad key ${secret}`, param: `Bearer ${secret}`, code: 'sk-abcdefghijkl' } }, 400, null, [secret]);
    expect(JSON.stringify(found)).not.toContain(secret);
    expect(JSON.stringify(found)).not.toContain('sk-abcdefghijkl');
    expect(found.message).toBe('bad key [REDACTED]');
  });

  it('reads only the first MAX_ERROR_BODY_BYTES characters', () => {
    const found = extract(`${'a'.repeat(MAX_ERROR_BODY_BYTES)}SECRET-AFTER-THE-LIMIT`, 500, 'text/plain');
    expect(found.message).not.toContain('SECRET');
  });
});

describe('errorValueText (stream error events, SDK error values)', () => {
  it('reads a string, a nested message, a flat message and a detail', () => {
    expect(errorValueText('overloaded')).toBe('overloaded');
    expect(errorValueText({ message: 'CUDA out of memory', code: 500 })).toBe('CUDA out of memory');
    expect(errorValueText({ error: { message: 'inner' } })).toBe('inner');
    expect(errorValueText({ detail: 'from FastAPI' })).toBe('from FastAPI');
    expect(errorValueText(undefined)).toBeUndefined();
    expect(errorValueText({ code: 1 })).toBeUndefined();
  });
});

describe('maskSecrets and cleanDetail', () => {
  it('masks given secrets, sk- keys, bearer tokens and api_key parameters', () => {
    const text = 'key abcdefgh12345678 sk-proj-abc123*****xyz Authorization: Bearer tok_live_42 at /v1?api_key=hunter2hunter2&x=1 {"access_token": "zzzzzzzzzz"}';
    expect(maskSecrets(text, ['abcdefgh12345678', 'short'])).toBe(
      'key [REDACTED] [REDACTED] Authorization: Bearer [REDACTED] at /v1?api_key=[REDACTED]&x=1 {"access_token": "[REDACTED]"}',
    );
  });

  it('leaves ordinary error text alone', () => {
    const text = "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (n_keep: 12).";
    expect(maskSecrets(text, ['tokens'])).toBe(text);
    expect(maskSecrets('Expected a Bearer token or an api_key: none given')).toBe('Expected a Bearer token or an api_key: none given');
  });

  it('cuts at 300 characters with one ellipsis character', () => {
    const clean = cleanDetail('y'.repeat(400));
    expect(clean).toHaveLength(300);
    expect(clean.endsWith('…')).toBe(true);
  });
});

function streamOf(parts: (string | Error)[]): ReadableStream<Uint8Array> {
  let cancelled = false;
  const queue = [...parts];
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = queue.shift();
      if (next === undefined || cancelled) controller.close();
      else if (next instanceof Error) controller.error(next);
      else controller.enqueue(new TextEncoder().encode(next));
    },
    cancel() {
      cancelled = true;
    },
  });
}

describe('readBounded', () => {
  it('stops at the limit and cancels the rest', async () => {
    let pulls = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(new Uint8Array(1024).fill(97));
      },
    });
    const text = await readBounded(endless, 4096);
    expect(text).toBe('a'.repeat(4096));
    expect(pulls).toBeLessThan(10);
  });

  it('keeps what arrived when the body breaks off', async () => {
    expect(await readBounded(streamOf(['partial ', 'body', new Error('terminated')]), 1000)).toBe('partial body');
    expect(await readBounded(null, 1000)).toBe('');
  });
});

describe('errorBodyFetch', () => {
  const withResponse = (response: Response) => errorBodyFetch({ fetch: () => Promise.resolve(response), secrets: ['local-key-0123456789'] });

  it("rewrites an error body into the SDK's shape, keeping status and headers", async () => {
    const original = new Response(JSON.stringify({ object: 'error', message: 'busy, key local-key-0123456789', type: 'ServiceUnavailable', code: 503 }), {
      status: 503,
      statusText: 'Service Unavailable',
      headers: { 'content-type': 'application/json', 'retry-after': '2', 'x-should-retry': 'true', 'x-request-id': 'req_1', 'content-length': '999' },
    });
    const response = await withResponse(original)('http://x/v1/chat/completions');
    expect(response.status).toBe(503);
    expect(response.statusText).toBe('Service Unavailable');
    expect(response.headers.get('retry-after')).toBe('2');
    expect(response.headers.get('x-should-retry')).toBe('true');
    expect(response.headers.get('x-request-id')).toBe('req_1');
    expect(response.headers.get('content-length')).not.toBe('999');
    expect(await response.json()).toEqual({ error: { type: 'ServiceUnavailable', code: 503, message: 'busy, key [REDACTED]' } });
  });

  it('passes successes (streams included) through untouched, and keeps an empty error body empty', async () => {
    const ok = new Response('data: {}\n\n', { status: 200, headers: { 'content-type': 'text/event-stream' } });
    expect(await withResponse(ok)('http://x')).toBe(ok);
    const empty = await withResponse(new Response(null, { status: 500 }))('http://x');
    expect(empty.status).toBe(500);
    expect(await empty.text()).toBe('');
  });
});
