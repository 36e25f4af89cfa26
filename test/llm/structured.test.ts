import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LlmError } from '../../src/llm/errors.js';
import { chatStructured, parseStructured } from '../../src/llm/structured.js';
import { useFakeOpenAi } from '../fakes/use-fake-openai.js';
import { modelFor } from './helpers.js';

const fake = useFakeOpenAi();

const Verdict = z.object({ keep: z.boolean(), reason: z.string().min(1) });
const messages = [{ role: 'user' as const, content: 'Should we keep this memory?' }];

describe('chatStructured', () => {
  it('sends the JSON schema and returns the validated value', async () => {
    fake.script({ kind: 'text', content: '{"keep": true, "reason": "useful"}', usage: { prompt: 30, completion: 8 } });
    const result = await chatStructured(modelFor(fake), { messages, schema: Verdict, name: 'verdict' });
    expect(result).toEqual({ value: { keep: true, reason: 'useful' }, usage: { promptTokens: 30, completionTokens: 8 } });
    const format = fake.chatRequests()[0]?.response_format;
    expect(format).toMatchObject({
      type: 'json_schema',
      json_schema: {
        name: 'verdict',
        strict: false,
        schema: { type: 'object', properties: { keep: { type: 'boolean' } }, required: ['keep', 'reason'] },
      },
    });
    expect(JSON.stringify(format)).not.toContain('$schema');
  });

  it('accepts JSON inside a ```json fence', async () => {
    fake.script({ kind: 'text', content: 'Here you go:\n```json\n{"keep": false, "reason": "stale"}\n```' });
    const result = await chatStructured(modelFor(fake), { messages, schema: Verdict, name: 'verdict' });
    expect(result.value).toEqual({ keep: false, reason: 'stale' });
  });

  it('corrects an invalid reply once, quoting the exact problem, and sums usage', async () => {
    fake.script(
      { kind: 'text', content: '{"keep": "yes"}', usage: { prompt: 10, completion: 4 } },
      { kind: 'text', content: '{"keep": true, "reason": "asked again"}', usage: { prompt: 20, completion: 6 } },
    );
    const result = await chatStructured(modelFor(fake), { messages, schema: Verdict, name: 'verdict' });
    expect(result).toEqual({ value: { keep: true, reason: 'asked again' }, usage: { promptTokens: 30, completionTokens: 10 } });
    const second = fake.chatRequests()[1]?.messages ?? [];
    expect(second).toHaveLength(3);
    expect(second[1]).toEqual({ role: 'assistant', content: '{"keep": "yes"}' });
    const correction = String(second[2]?.content);
    expect(second[2]?.role).toBe('user');
    expect(correction).toContain('at "keep"');
    expect(correction).toContain('expected boolean');
    expect(correction).toContain('at "reason"');
  });

  it('throws malformed_output naming the problem when the retry is invalid too', async () => {
    fake.script({ kind: 'text', content: 'I think yes.' }, { kind: 'text', content: '{"keep": true' });
    const err: unknown = await chatStructured(modelFor(fake), { messages, schema: Verdict, name: 'verdict' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LlmError);
    expect((err as LlmError).kind).toBe('malformed_output');
    expect((err as LlmError).message).toMatch(/^The model's reply for "verdict" was not valid even after a corrective retry: it is not valid JSON/);
    expect(fake.chatRequests()).toHaveLength(2);
  });

  it('passes LlmErrors from the model through', async () => {
    fake.script({ kind: 'error', status: 401 });
    await expect(chatStructured(modelFor(fake), { messages, schema: Verdict, name: 'verdict' })).rejects.toMatchObject({
      kind: 'auth',
    });
  });
});

describe('parseStructured', () => {
  it('explains empty and non-JSON replies', () => {
    expect(parseStructured(null, Verdict)).toEqual({ ok: false, issue: 'the reply was empty' });
    const parsed = parseStructured('```\n[1, 2]\n```', z.array(z.number()));
    expect(parsed).toEqual({ ok: true, value: [1, 2] });
  });
});
