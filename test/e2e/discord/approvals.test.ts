import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FakeMessage } from '../../fakes/discord/index.js';
import { toolMessages } from '../../agent/harness.js';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { buttons, useBot } from './harness.js';

const openai = useFakeOpenAi();
const startBot = useBot(openai);
/** write_file is medium risk: with this threshold it needs approval. */
const RISKY = { CAIRN_APPROVAL_RISK: 'medium', CAIRN_APPROVAL_TIMEOUT_S: '5' };

const writeThenAnswer = () => { openai.script({ kind: 'tool_calls', calls: [{ name: 'write_file', arguments: { path: 'note.txt', content: 'hello' } }] }, { kind: 'text', content: 'All done.' }); };

const button = (message: FakeMessage, label: string) => buttons(message).find((b) => b.label === label)?.customId ?? '';

describe('approvals in Discord', () => {
  it('asks the starter with Approve/Deny; only they may answer; approved calls run', async () => {
    const { discord, dataDir } = await startBot({ env: RISKY });
    writeThenAnswer();
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'Write a note' } });
    const request = await discord.waitFor(() => i.followUps().find((m) => m.content.startsWith('🔐')));
    expect(request.content).toContain(`🔐 <@${discord.users.alice.id}>, Cairn wants to run \`write_file\` (risk medium):`);
    expect(request.content).toContain('"path": "note.txt"');
    expect(request.content).toMatch(/Approve within 5 s, or it will not run\.$/);
    expect(buttons(request).map((b) => b.label)).toEqual(['Approve', 'Deny']);
    expect(request.flags & 4).toBe(4); // a request may quote a full URL: no preview may fetch it before approval

    const intruder = discord.clickButton({ user: discord.users.bob, message: request, customId: button(request, 'Approve') });
    await intruder.acknowledged();
    expect(intruder.ephemeral()).toBe(true);

    const press = discord.clickButton({ user: discord.users.alice, message: request, customId: button(request, 'Approve') });
    await press.acknowledged();
    await discord.waitFor(() => i.followUps().find((m) => m.content === 'All done.'));
    const decided = discord.message(request.id);
    expect(decided?.content).toMatch(new RegExp(`✅ Approved by <@${discord.users.alice.id}>\\.$`));
    expect(buttons(decided)).toEqual([]);
    const runId = /run `([^`]+)`/.exec(i.original()?.content ?? '')?.[1] ?? '';
    expect(await readdir(path.join(dataDir, 'workspaces', runId))).toEqual(['note.txt']);
    const steps = await discord.waitFor(() => {
      const text = discord.channelMessages(discord.threads()[0]?.id ?? '').map((m) => m.content).join('\n');
      return text.includes('approved') ? text : undefined;
    });
    expect(steps).toMatch(/🔐 write_file approved by alice after/);
  });

  it('attaches long arguments as a file instead of cutting them', async () => {
    const { discord } = await startBot({ env: RISKY });
    const content = 'x'.repeat(3_000);
    openai.script({ kind: 'tool_calls', calls: [{ name: 'write_file', arguments: { path: 'big.txt', content } }] }, { kind: 'text', content: 'All done.' });
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'Write a big note' } });
    const request = await discord.waitFor(() => i.followUps().find((m) => m.content.startsWith('🔐')));
    expect(request.content).toContain('are attached as arguments.json: read them before approving.');
    expect(request.attachments).toEqual([expect.objectContaining({ filename: 'arguments.json' })]);
    expect(request.attachments[0]?.size).toBeGreaterThan(3_000);
    await discord.clickButton({ user: discord.users.alice, message: request, customId: button(request, 'Deny') }).acknowledged();
    await discord.waitFor(() => i.followUps().find((m) => m.content === 'All done.'));
  });

  it('does not run a denied call, and tells the model', async () => {
    const { discord, dataDir } = await startBot({ env: RISKY });
    writeThenAnswer();
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'Write a note' } });
    const request = await discord.waitFor(() => i.followUps().find((m) => m.content.startsWith('🔐')));
    await discord.clickButton({ user: discord.users.alice, message: request, customId: button(request, 'Deny') }).acknowledged();
    await discord.waitFor(() => i.followUps().find((m) => m.content === 'All done.'));
    expect(discord.message(request.id)?.content).toMatch(/❌ Denied by <@\d+>: not run\.$/);
    expect(toolMessages(openai.chatRequests()[1] ?? { messages: [] })[0]).toMatch(/^Not run: "write_file" needs approval and the user \(alice\) denied it\./);
    const runId = /run `([^`]+)`/.exec(i.original()?.content ?? '')?.[1] ?? '';
    expect(await readdir(path.join(dataDir, 'workspaces', runId))).toEqual([]);
  });

  it('denies when no one answers in time, and says so on the request', async () => {
    const { discord } = await startBot({ env: RISKY });
    writeThenAnswer();
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'Write a note' } });
    const request = await discord.waitFor(() => i.followUps().find((m) => m.content.startsWith('🔐')));
    await discord.waitFor(() => i.followUps().find((m) => m.content === 'All done.'), 10_000);
    const expired = discord.message(request.id);
    expect(expired?.content).toMatch(/⏱️ No answer within 5 s: not run\.$/);
    expect(buttons(expired)).toEqual([]);
    expect(toolMessages(openai.chatRequests()[1] ?? { messages: [] })[0]).toMatch(/no one approved it in time/);
  });
});
