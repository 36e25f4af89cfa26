import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { needsApproval, type ApprovalRequest, type Approver } from '../../src/agent/approval.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import type { RiskLevel } from '../../src/tools/types.js';
import { defineTool } from '../../src/tools/define.js';
import { recorder, toolMessages, useHarness } from './harness.js';

const h = useHarness();

/** A high-risk tool that records whether it ran. */
function deployTool() {
  const ran: string[] = [];
  const tool = defineTool({
    name: 'deploy',
    description: 'Deploys a service to production.',
    input: z.object({ service: z.string() }),
    risk: 'high',
    run: ({ service }) => {
      ran.push(service);
      return Promise.resolve(`deployed ${service}`);
    },
  });
  return { tool, ran };
}

const deployThenAnswer = () => { h.fake.script(
    { kind: 'tool_calls', calls: [{ name: 'deploy', arguments: { service: 'api' } }] },
    { kind: 'tool_calls', calls: [{ name: 'current_time', arguments: {} }] },
    { kind: 'text', content: 'Done.' },
  ); };

describe('approvals', () => {
  it('asks before a high-risk call, runs it when approved, and never asks for low-risk tools', async () => {
    const { tool, ran } = deployTool();
    deployThenAnswer();
    const asked: ApprovalRequest[] = [];
    const approver: Approver = (request) => {
      asked.push(request);
      return Promise.resolve({ outcome: 'approved', by: 'ada' });
    };
    const { events, sink } = recorder();
    const result = await h.agent({ extraTools: [tool] }).run({ goal: 'Deploy the API', approver, sinks: [sink] });
    expect(result.status).toBe('succeeded');
    expect(ran).toEqual(['api']);
    expect(asked).toEqual([expect.objectContaining({ tool: 'deploy', arguments: '{\n  "service": "api"\n}', risk: 'high', step: 1, timeoutMs: 120_000 })]);
    const order = events.flatMap((e) => ((e.type === 'tool_call' || e.type === 'approval' || e.type === 'tool_result') && e.step === 1 ? [e.type] : []));
    expect(order).toEqual(['tool_call', 'approval', 'tool_result']);
    expect(events.find((e) => e.type === 'approval')).toMatchObject({ outcome: 'approved', by: 'ada', tool: 'deploy' });
  });

  it.each([
    ['denied', { outcome: 'denied', by: 'ada' }, 'the user (ada) denied it'],
    ['timed out', { outcome: 'timed_out', by: null }, 'no one approved it in time'],
  ] as const)('does not run a %s call, tells the model why, and the run goes on', async (_name, decision, words) => {
    const { tool, ran } = deployTool();
    deployThenAnswer();
    const { events, sink } = recorder();
    const result = await h.agent({ extraTools: [tool] }).run({ goal: 'Deploy the API', approver: () => Promise.resolve(decision), sinks: [sink] });
    expect(result).toMatchObject({ status: 'succeeded', answer: 'Done.', toolCalls: { total: 2, succeeded: 1 } });
    expect(ran).toEqual([]);
    expect(toolMessages(h.fake.chatRequests()[1] ?? { messages: [] })[0]).toBe(
      `Not run: "deploy" needs approval and ${words}. Do not retry this call; continue without it, or explain in your answer what you could not do.`,
    );
    expect(events.find((e) => e.type === 'tool_result' && e.tool === 'deploy')).toMatchObject({ ok: false, errorKind: 'denied' });
  });

  it('denies when there is no one to ask, and when asking fails', async () => {
    for (const approver of [undefined, () => Promise.reject(new Error('Discord is down'))] as const) {
      const { tool, ran } = deployTool();
      deployThenAnswer();
      const { events, sink } = recorder();
      await h.agent({ extraTools: [tool] }).run({ goal: 'Deploy the API', sinks: [sink], ...(approver === undefined ? {} : { approver }) });
      expect(ran).toEqual([]);
      expect(events.find((e) => e.type === 'approval')).toMatchObject({ outcome: 'unavailable', by: null });
    }
  });

  it('follows the configured threshold: medium asks for write_file too, none asks for nothing', async () => {
    const asked: string[] = [];
    const approver: Approver = (request) => {
      asked.push(request.tool);
      return Promise.resolve({ outcome: 'approved', by: 'ada' });
    };
    const writeThenAnswer = () => { h.fake.script({ kind: 'tool_calls', calls: [{ name: 'write_file', arguments: { path: 'a.txt', content: 'x' } }] }, { kind: 'text', content: 'Written.' }); };
    writeThenAnswer();
    await h.agent({ approvals: { minRisk: 'medium', timeoutMs: 5_000 } }).run({ goal: 'Write a file', approver });
    expect(asked).toEqual(['write_file']);
    const { tool, ran } = deployTool();
    h.fake.script({ kind: 'tool_calls', calls: [{ name: 'deploy', arguments: { service: 'web' } }] }, { kind: 'text', content: 'Done.' });
    await h.agent({ extraTools: [tool], approvals: { minRisk: 'none', timeoutMs: 5_000 } }).run({ goal: 'Deploy', approver });
    expect(asked).toEqual(['write_file']);
    expect(ran).toEqual(['web']);
  });

  it('shows the approver the arguments exactly as the tool will read them (a repeated key cannot hide the real value)', async () => {
    const { tool, ran } = deployTool();
    h.fake.script(
      { kind: 'tool_calls', calls: [{ name: 'deploy', arguments: `{"service":"docs",${' '.repeat(1_500)}"service":"production"}` }] },
      { kind: 'text', content: 'Done.' },
    );
    const shown: string[] = [];
    await h.agent({ extraTools: [tool] }).run({
      goal: 'Deploy',
      approver: (request) => {
        shown.push(request.arguments);
        return Promise.resolve({ outcome: 'approved', by: 'ada' });
      },
    });
    expect(shown).toEqual(['{\n  "service": "production"\n}']);
    expect(ran).toEqual(['production']);
  });

  it('fails closed: an unknown risk level needs approval, and the registry refuses such a tool', () => {
    expect(needsApproval('extreme' as RiskLevel, { minRisk: 'high', timeoutMs: 1_000 })).toBe(true);
    expect(needsApproval('low', { minRisk: 'high', timeoutMs: 1_000 })).toBe(false);
    const bogus = { ...deployTool().tool, risk: 'none' as RiskLevel };
    expect(() => new ToolRegistry([bogus])).toThrow('tool "deploy": risk must be low, medium or high, got "none"');
  });

  it('stops waiting when the run is cancelled', async () => {
    const { tool, ran } = deployTool();
    deployThenAnswer();
    const controller = new AbortController();
    const approver: Approver = (_request, signal) =>
      new Promise((resolve) => {
        signal.addEventListener('abort', () => {
          resolve({ outcome: 'timed_out', by: null });
        });
        controller.abort();
      });
    const result = await h.agent({ extraTools: [tool] }).run({ goal: 'Deploy', approver, signal: controller.signal });
    expect(result).toMatchObject({ status: 'stopped', limit: 'cancelled' });
    expect(ran).toEqual([]);
  });
});
