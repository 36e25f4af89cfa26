/**
 * Settings reach the next run (issue 13): what an admin sets with /config changes the very next
 * `/agent` run, mention and scheduled report in that place — the operator's instructions, the
 * model, the default mode, the step limit, the tools offered, the budgets and whether mentions
 * are answered — and a channel's values do not leak into another channel.
 */
import { describe, expect, it } from 'vitest';
import type { ChatCompletionRequestBody } from '../../fakes/openai-server.js';
import type { FakeDiscord, FakeInteraction, SlashOptionValue } from '../../fakes/discord/index.js';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { OPERATOR_HEADING } from '../../../src/agent/prompt.js';
import { privateText, useBot } from './harness.js';

const openai = useFakeOpenAi();
const startBot = useBot(openai);

const set = (discord: FakeDiscord, key: string, value: string, options: Record<string, SlashOptionValue> = {}) =>
  privateText(discord.slash({ user: discord.users.carol, channelId: discord.channels.general, name: 'config', subcommand: 'set', options: { key, value, ...options } }), discord);

const systemOf = (body: ChatCompletionRequestBody | undefined): string => {
  const first = body?.messages[0];
  return first !== undefined && 'content' in first && typeof first.content === 'string' ? first.content : '';
};
const toolNames = (body: ChatCompletionRequestBody | undefined): string[] => (body?.tools ?? []).map((t) => (t as { function: { name: string } }).function.name);

async function agent(discord: FakeDiscord, goal: string, answer: string, channelId = discord.channels.general): Promise<FakeInteraction> {
  const i = discord.slash({ user: discord.users.alice, channelId, name: 'agent', options: { goal } });
  await discord.waitFor(() => i.followUps().find((m) => m.content === answer));
  return i;
}

describe('settings apply to the next run', () => {
  it('instructions, model, step limit and disabled tools change the next /agent run, in that channel only', async () => {
    const { discord } = await startBot({ env: { CAIRN_MODELS: 'llama3.1:8b' } });
    expect(await set(discord, 'instructions', 'Answer like a pirate.')).toMatch(/^✅ `instructions`/);
    expect(await set(discord, 'model', 'llama3.1:8b', { scope: 'channel' })).toMatch(/^✅ `model`/);
    expect(await set(discord, 'max_steps', '3')).toMatch(/^✅ `max_steps`/);
    expect(await set(discord, 'disabled_tools', 'current_time,http_get')).toMatch(/^✅ `disabled_tools`/);

    openai.script({ kind: 'text', content: 'Arr, noon it be.' });
    const i = await agent(discord, 'What time is it?', 'Arr, noon it be.');
    const body = openai.chatRequests().at(-1);
    expect(body?.model).toBe('llama3.1:8b');
    const system = systemOf(body);
    expect(system).toContain(`${OPERATOR_HEADING}\nAnswer like a pirate.`);
    expect(system).toContain('You have at most 3 steps.');
    expect(toolNames(body)).not.toContain('current_time');
    expect(toolNames(body)).not.toContain('http_get');
    expect(toolNames(body)).toContain('read_file');
    expect(i.followUps().length).toBeGreaterThan(0);

    // Another channel inherits the server's values but not the channel's model.
    openai.script({ kind: 'text', content: 'Arr, elsewhere.' });
    await agent(discord, 'And here?', 'Arr, elsewhere.', discord.channels.noThreads);
    const other = openai.chatRequests().at(-1);
    expect(other?.model).toBe('gpt-4o-mini');
    expect(systemOf(other)).toContain('Answer like a pirate.');
  });

  it('the default mode applies when /agent names none, and a chosen mode wins', async () => {
    const { discord } = await startBot();
    await set(discord, 'mode', 'plan');
    openai.respondWith((body) =>
      body.response_format !== undefined
        ? { kind: 'text', content: JSON.stringify({ tasks: [{ id: 't1', title: 'Answer', detail: 'Say hi.', dependsOn: [] }] }) }
        : { kind: 'text', content: 'Hi there.' },
    );
    await agent(discord, 'Say hi', 'Hi there.');
    expect(openai.chatRequests().some((b) => JSON.stringify(b.response_format ?? null).includes('"plan"'))).toBe(true);

    openai.reset();
    openai.respondWith(() => ({ kind: 'text', content: 'Hi again.' }));
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'Say hi', mode: 'react' } });
    await discord.waitFor(() => i.followUps().find((m) => m.content === 'Hi again.'));
    expect(openai.chatRequests().some((b) => b.response_format !== undefined)).toBe(false);
  });

  it('a mention run gets the channel’s instructions; with mentions off there, Cairn stays silent', async () => {
    const { discord } = await startBot();
    await set(discord, 'instructions', 'Sign every answer with — Cairn.', { scope: 'channel' });
    openai.script({ kind: 'text', content: 'Hello. — Cairn' });
    discord.postMessage({ user: discord.users.alice, channelId: discord.channels.general, content: 'hello', mentionBot: true });
    await discord.waitFor(() => discord.channelMessages(discord.channels.general).find((m) => m.content === 'Hello. — Cairn'));
    expect(systemOf(openai.chatRequests().at(-1))).toContain('Sign every answer with — Cairn.');

    expect(await set(discord, 'mentions', 'off', { scope: 'channel' })).toMatch(/^✅ `mentions`/);
    const calls = openai.chatRequests().length;
    openai.respondWith(() => ({ kind: 'text', content: 'Answered.' }));
    discord.postMessage({ user: discord.users.alice, channelId: discord.channels.general, content: 'anyone there?', mentionBot: true });
    // A mention in another channel, sent after it, is answered: by then the first would have reached the model.
    discord.postMessage({ user: discord.users.alice, channelId: discord.channels.noThreads, content: 'and here?', mentionBot: true });
    await discord.waitFor(() => discord.channelMessages(discord.channels.noThreads).find((m) => m.content === 'Answered.'));
    expect(openai.chatRequests()).toHaveLength(calls + 1);
    expect(discord.channelMessages(discord.channels.general).some((m) => m.content === 'Answered.')).toBe(false);
  });

  it('a server budget set with /config stops the next run', async () => {
    const { discord } = await startBot();
    expect(await set(discord, 'server_daily_budget_usd', '0')).toMatch(/^✅ `server_daily_budget_usd`/);
    const refused = await privateText(discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'anything' } }), discord);
    expect(refused).toMatch(/^This server's daily budget of \$0\.00 is used up/);
    expect(openai.chatRequests()).toHaveLength(0);
  });
});
