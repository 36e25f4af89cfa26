/**
 * Structured output on servers that refuse or ignore `json_schema` (../shared/notes/model-servers.md
 * §4), through the real openai SDK against the fake server.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LlmError } from '../../src/llm/errors.js';
import { chatStructured, parseStructured, structuredLevelOf } from '../../src/llm/structured.js';
import type { ChatMessage } from '../../src/llm/types.js';
import {
  fastApiDetail,
  llamaCppJsonSchemaRefused,
  lmStudioOnlyJsonSchema,
  openAiContextOverflow,
  openAiError,
  vllmFlatError,
  vllmJsonSchemaMissing,
} from '../fakes/openai-error-bodies.js';
import type { ChatCompletionRequestBody, ScriptedReply } from '../fakes/openai-server.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { modelFor } from './helpers.js';

const fake = useFakeOpenAi();

const Verdict = z.object({ keep: z.boolean(), reason: z.string().min(1) });
const messages: ChatMessage[] = [
  { role: 'system', content: 'You review memories.' },
  { role: 'user', content: 'Should we keep this memory?' },
];
const GOOD = '{"keep": true, "reason": "useful"}';

const FormatOf = z.looseObject({ response_format: z.looseObject({ type: z.string() }).nullish() });
/** The response_format type a request asked for, or null when it sent none. */
const formatType = (body: ChatCompletionRequestBody | undefined): string | null =>
  FormatOf.safeParse(body).data?.response_format?.type ?? null;
const systemText = (body: ChatCompletionRequestBody | undefined): string => {
  const first = body?.messages[0];
  return first?.role === 'system' && typeof first.content === 'string' ? first.content : '';
};

/** A server that refuses the listed response_format types and otherwise answers `content`. */
function refusing(refusals: Partial<Record<'json_schema' | 'json_object', ScriptedReply>>, content = GOOD): void {
  fake.respondWith((body) => {
    const type = formatType(body);
    const refusal = type === 'json_schema' || type === 'json_object' ? refusals[type] : undefined;
    return refusal ?? { kind: 'text', content };
  });
}

describe('chatStructured on servers that refuse json_schema', () => {
  it.each([
    ['llama.cpp (500 server_error)', llamaCppJsonSchemaRefused],
    ["vLLM ≥0.10.1's nested body", vllmJsonSchemaMissing],
    ["vLLM ≤0.10.0's flat body", vllmFlatError(400, "When response_format type is 'json_schema', the 'json_schema' field must be provided.")],
    ['a FastAPI proxy naming the field', fastApiDetail(422, "Input should be 'text' or 'json_object' at body.response_format.type")],
    ['a router naming it (404)', openAiError(404, "No endpoints found that support the provided 'response_format' value")],
  ])('falls back to json_object with the schema in the instructions: %s', async (_name, refusal) => {
    refusing({ json_schema: refusal });
    const model = modelFor(fake);
    const result = await chatStructured(model, { messages, schema: Verdict, name: 'verdict' });

    expect(result.value).toEqual({ keep: true, reason: 'useful' });
    expect(structuredLevelOf(model)).toBe('json_object');
    const last = fake.chatRequests().at(-1);
    expect(last?.['response_format']).toEqual({ type: 'json_object' });
    // Added to the one system message, not as a second one (templates refuse that).
    expect(last?.messages.filter((m) => m.role === 'system')).toHaveLength(1);
    expect(systemText(last)).toMatch(/^You review memories\.\n\nReply with only a JSON value for "verdict"/);
    expect(systemText(last)).toContain('"required":["keep","reason"]');
  });

  it('steps down to instructions alone when json_object is refused too', async () => {
    refusing({ json_schema: vllmJsonSchemaMissing, json_object: lmStudioOnlyJsonSchema });
    const model = modelFor(fake);
    const result = await chatStructured(model, { messages, schema: Verdict, name: 'verdict' });

    expect(result.value).toEqual({ keep: true, reason: 'useful' });
    expect(structuredLevelOf(model)).toBe('instructions');
    expect(fake.chatRequests().map(formatType)).toEqual(['json_schema', 'json_object', null]);
    expect(systemText(fake.chatRequests()[2])).toContain('JSON Schema');
  });

  it('remembers the level per model: no refused request the second time', async () => {
    refusing({ json_schema: vllmJsonSchemaMissing });
    const model = modelFor(fake);
    await chatStructured(model, { messages, schema: Verdict, name: 'verdict' });
    const before = fake.chatRequests().length;
    await chatStructured(model, { messages, schema: Verdict, name: 'verdict' });
    expect(fake.chatRequests().slice(before).map(formatType)).toEqual(['json_object']);
    // Another client (another server, perhaps) starts at the strongest level again.
    expect(structuredLevelOf(modelFor(fake))).toBe('json_schema');
  });

  it('corrects an invalid reply once at the degraded level, quoting the schema', async () => {
    let calls = 0;
    fake.respondWith((body) => {
      if (formatType(body) === 'json_schema') return vllmJsonSchemaMissing;
      calls += 1;
      return { kind: 'text', content: calls === 1 ? '{"keep": "yes"}' : GOOD };
    });
    const result = await chatStructured(modelFor(fake), { messages, schema: Verdict, name: 'verdict' });
    expect(result.value).toEqual({ keep: true, reason: 'useful' });
    const requests = fake.chatRequests();
    expect(requests.map(formatType)).toEqual(['json_schema', 'json_object', 'json_object']);
    const correction = requests[2]?.messages.at(-1);
    expect(correction?.role).toBe('user');
    expect(String(correction?.['content'])).toContain('at "keep"');
    expect(String(correction?.['content'])).toContain('The JSON Schema it must match: {"type":"object"');
  });

  it('does not take other 400s for a refusal of the format', async () => {
    fake.script(openAiContextOverflow);
    const model = modelFor(fake);
    const err: unknown = await chatStructured(model, { messages, schema: Verdict, name: 'verdict' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect((err as LlmError).kind).toBe('bad_request');
    expect(fake.chatRequests()).toHaveLength(1);
    expect(structuredLevelOf(model)).toBe('json_schema');
  });
});

describe('chatStructured on servers that ignore the schema', () => {
  it.each([
    ['prose and a fenced block', 'Sure! Here is my verdict:\n\n```json\n{"keep": true, "reason": "useful"}\n```\n\nLet me know if you need more.'],
    ['an unlabelled fence', 'Verdict:\n```\n{"keep": true, "reason": "useful"}\n```'],
    ['bare JSON inside prose', 'After thinking it over, {"keep": true, "reason": "useful"} is my answer.'],
    ['an aside in brackets before the JSON', 'My answer [see below] follows: {"keep": true, "reason": "useful {not a brace}"}'],
    ['<think> and then prose', '<think>Is it useful? {maybe}</think>\nThe JSON: {"keep": true, "reason": "useful"}'],
  ])('parses the JSON out of %s without a retry', async (_name, content) => {
    fake.script({ kind: 'text', content });
    const result = await chatStructured(modelFor(fake), { messages, schema: Verdict, name: 'verdict' });
    expect(result.value.keep).toBe(true);
    expect(fake.chatRequests()).toHaveLength(1);
  });

  it('takes the first JSON that validates, and reports the shape problem over the prose', () => {
    expect(parseStructured('Example: {"a": 1}. Real: {"keep": false, "reason": "stale"}', Verdict)).toEqual({
      ok: true,
      value: { keep: false, reason: 'stale' },
    });
    const wrong = parseStructured('Here: {"keep": "no"} done', Verdict);
    expect(wrong.ok).toBe(false);
    expect(wrong.ok ? '' : wrong.issue).toContain('at "keep"');
    expect(parseStructured('{"keep": true, "reason": "cut off', Verdict)).toMatchObject({ ok: false, issue: expect.stringMatching(/^it is not valid JSON/) as unknown });
  });
});
