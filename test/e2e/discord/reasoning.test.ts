import { describe, expect, it } from 'vitest';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { useBot } from './harness.js';

const openai = useFakeOpenAi();
const startBot = useBot(openai);

describe('/agent with a reasoning model', () => {
  it('shows reasoning only in the step summaries: short behind a spoiler, long as a .txt file', async () => {
    const { discord } = await startBot();
    const long = `SECRET-LONG: ${'Weighing the time zones one by one. '.repeat(60)}`;
    openai.script(
      // A server without a reasoning parser (tags in content), then one with a `reasoning` field (notes §3).
      { kind: 'tool_calls', content: 'Checking the clock.', reasoning: 'SECRET-SHORT: Tokyo is UTC+9.', reasoningAs: 'think_tags', calls: [{ name: 'current_time', arguments: { timezone: 'Asia/Tokyo' } }] },
      { kind: 'text', content: 'It is Sunday in Tokyo.', reasoning: long, reasoningAs: 'reasoning' },
    );
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'What day is it in Tokyo?' } });
    const answer = await discord.waitFor(() => i.followUps().find((m) => m.content.includes('Sunday')));
    expect(answer.content).not.toContain('SECRET');

    const thread = discord.threads()[0];
    const messages = await discord.waitFor(() => {
      const all = discord.channelMessages(thread?.id ?? '');
      return all.some((m) => m.content.includes('**Step 2**')) ? all : undefined;
    });
    const text = messages.map((m) => m.content).join('\n');
    expect(text).toContain('**Step 1** · calling `current_time` — 💭 ||SECRET-SHORT: Tokyo is UTC+9.||');
    expect(text).toContain('**Step 2** · answer — 💭 reasoning in `reasoning-step-2.txt`');
    expect(text).not.toContain('SECRET-LONG');
    const files = messages.flatMap((m) => m.attachments);
    expect(files).toMatchObject([{ filename: 'reasoning-step-2.txt', size: Buffer.byteLength(long.trim(), 'utf8') }]);
    expect(i.original()?.content ?? '').not.toContain('SECRET');
  });
});
