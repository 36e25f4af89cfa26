/**
 * Plan mode on a server that refuses `json_schema` (llama.cpp builds that take only "text" and
 * "json_object": a 500 naming response_format, ik_llama.cpp#778; notes §4) and answers with prose
 * around its JSON: the plan is still made, carried out and answered.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { PlanTask } from '../../src/agent/plan.js';
import { llamaCppJsonSchemaRefused } from '../fakes/openai-error-bodies.js';
import type { ChatCompletionRequestBody } from '../fakes/openai-server.js';
import { textOf, useHarness } from './harness.js';

const h = useHarness();

const FormatOf = z.looseObject({ response_format: z.looseObject({ type: z.string() }).nullish() });
const formatType = (body: ChatCompletionRequestBody): string | null => FormatOf.safeParse(body).data?.response_format?.type ?? null;
/** The planner's call at any level: its format named in the response_format or in the instructions. */
const isPlanner = (body: ChatCompletionRequestBody): boolean =>
  formatType(body) === 'json_schema' || textOf(body, 'system').includes('JSON value for "plan"');
const taskOf = (body: ChatCompletionRequestBody) => /Your task now \(([\w-]+)\)/.exec(textOf(body, 'user'))?.[1] ?? null;
const isSynthesis = (body: ChatCompletionRequestBody) => textOf(body, 'system').includes('write the final answer from the results');
const task = (id: string, title: string, dependsOn: string[] = []): PlanTask => ({ id, title, detail: `Do: ${title}.`, dependsOn });

describe('plan mode when the server refuses json_schema', () => {
  it('plans with json_object and the schema in the instructions, then completes the run', async () => {
    const executed: string[] = [];
    h.fake.respondWith((body) => {
      if (formatType(body) === 'json_schema') return llamaCppJsonSchemaRefused;
      if (isPlanner(body)) {
        const plan = JSON.stringify({ tasks: [task('gather', 'Gather the facts'), task('write', 'Write it up', ['gather'])] });
        return { kind: 'text', content: `Here is the plan:\n\`\`\`json\n${plan}\n\`\`\`` };
      }
      if (isSynthesis(body)) return { kind: 'text', content: 'Final: the facts, written up.' };
      const id = taskOf(body) ?? '?';
      executed.push(id);
      return { kind: 'text', content: `${id} done` };
    });
    const result = await h.agent().run({ goal: 'Write up the facts', mode: 'plan' });

    expect(result).toMatchObject({ status: 'succeeded', mode: 'plan', answer: 'Final: the facts, written up.' });
    expect(executed).toEqual(['gather', 'write']);
    const planners = h.fake.chatRequests().filter(isPlanner);
    // The refused json_schema request (with the client's retries of the 500), then json_object.
    expect(planners.map(formatType).at(-1)).toBe('json_object');
    expect(planners.filter((b) => formatType(b) === 'json_object')).toHaveLength(1);
    expect(textOf(planners.at(-1), 'system')).toContain('"tasks"');
  });
});
