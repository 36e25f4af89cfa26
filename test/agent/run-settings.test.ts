/**
 * What a server's or channel's settings change in one run (the agent's side of issue 13's
 * settings): the operator's instructions below the rules, another model with its own price,
 * tools left out, and the approval threshold.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ApprovalRequest } from '../../src/agent/approval.js';
import { OPERATOR_HEADING } from '../../src/agent/prompt.js';
import { OpenAiChatModel } from '../../src/llm/client.js';
import { ModelCatalog } from '../../src/llm/models.js';
import { silentLogger } from '../../src/log.js';
import { defineTool } from '../../src/tools/define.js';
import type { ChatCompletionRequestBody } from '../fakes/openai-server.js';
import { useHarness } from './harness.js';

const h = useHarness();
const systemOf = (body: ChatCompletionRequestBody | undefined): string => {
  const first = body?.messages[0];
  return first !== undefined && 'content' in first && typeof first.content === 'string' ? first.content : '';
};
const toolNames = (body: ChatCompletionRequestBody | undefined): string[] => (body?.tools ?? []).map((t) => (t as { function: { name: string } }).function.name);

describe('a run with settings', () => {
  it("shows the operator's instructions below the rules, in every mode's prompts", async () => {
    for (const mode of ['react', 'plan'] as const) {
      h.fake.reset();
      h.fake.respondWith((body) =>
        'response_format' in body && body.response_format !== undefined
          ? { kind: 'text', content: JSON.stringify({ tasks: [{ id: 't1', title: 'Answer', detail: 'Say hello.', dependsOn: [] }] }) }
          : { kind: 'text', content: 'Ahoy!' },
      );
      const result = await h.agent().run({ goal: 'Say hello', mode, instructions: 'Talk like a pirate.' });
      expect(result.status).toBe('succeeded');
      for (const body of h.fake.chatRequests().filter((b) => (b.tools?.length ?? 0) > 0 || b.response_format !== undefined)) {
        const system = systemOf(body);
        expect(system).toContain(`${OPERATOR_HEADING}\nTalk like a pirate.`);
        expect(system.indexOf('Rules:')).toBeLessThan(system.indexOf(OPERATOR_HEADING));
      }
    }
  });

  it('without instructions, the prompt has no operator section', async () => {
    h.fake.reset();
    h.fake.script({ kind: 'text', content: 'Hello.' });
    await h.agent().run({ goal: 'Say hello' });
    expect(systemOf(h.fake.chatRequests()[0])).not.toContain(OPERATOR_HEADING);
  });

  it('uses the model it is given, at that model’s price', async () => {
    h.fake.reset();
    h.fake.script({ kind: 'text', content: 'Hello.', usage: { prompt: 1_000_000, completion: 0 } });
    const log = silentLogger();
    const catalog = new ModelCatalog(
      'test-model',
      ['big-model'],
      (id) => new OpenAiChatModel({ model: id, baseURL: h.fake.baseURL, apiKey: 'k', timeoutMs: 5_000, maxRetries: 0, log }),
      (id) => (id === 'big-model' ? { inputPerMTok: 3, outputPerMTok: 15 } : undefined),
    );
    expect(() => catalog.get('other')).toThrow(/not on the operator's list \(CAIRN_MODELS\): test-model, big-model/);
    const result = await h.agent().run({ goal: 'Say hello', model: catalog.get('big-model') });
    expect(h.fake.chatRequests()[0]?.model).toBe('big-model');
    expect(result.costUsd).toBeCloseTo(3);
  });

  it('leaves out disabled tools, and a call to one is answered as an unknown tool', async () => {
    h.fake.reset();
    h.fake.script({ kind: 'tool_calls', calls: [{ name: 'current_time', arguments: {} }] }, { kind: 'text', content: 'I cannot tell the time here.' });
    const result = await h.agent().run({ goal: 'What time is it?', disabledTools: ['current_time'] });
    const [first, second] = h.fake.chatRequests();
    expect(toolNames(first)).not.toContain('current_time');
    expect(toolNames(first)).toContain('read_file');
    expect(JSON.stringify(second?.messages.at(-1))).toMatch(/unknown tool|no tool named/i);
    expect(result.toolCalls.succeeded).toBe(0);
  });

  it('asks for approval at the threshold it is given', async () => {
    const ran: string[] = [];
    const note = defineTool({ name: 'post_note', description: 'Posts a note.', input: z.object({ text: z.string() }), risk: 'medium', run: ({ text }) => { ran.push(text); return Promise.resolve('posted'); } });
    const asked: ApprovalRequest[] = [];
    const approver = (request: ApprovalRequest) => { asked.push(request); return Promise.resolve({ outcome: 'denied' as const, by: 'ada' }); };
    for (const minRisk of ['high', 'medium'] as const) {
      h.fake.reset();
      h.fake.script({ kind: 'tool_calls', calls: [{ name: 'post_note', arguments: { text: minRisk } }] }, { kind: 'text', content: 'Done.' });
      await h.agent({ extraTools: [note] }).run({ goal: 'Post a note', approver, approvals: { minRisk } });
    }
    expect(ran).toEqual(['high']);
    expect(asked.map((a) => a.tool)).toEqual(['post_note']);
  });
});
