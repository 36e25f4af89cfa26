import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { buttons, useBot } from './harness.js';

const openai = useFakeOpenAi();
const startBot = useBot(openai);

const AgentCommand = z.object({
  name: z.literal('agent'),
  options: z.array(z.object({ name: z.string(), choices: z.array(z.object({ value: z.string() })).optional() })),
});

describe('/agent modes through the real discord.js client', () => {
  it('offers react, plan and reflexion', async () => {
    const { discord } = await startBot();
    const commands = z.array(z.unknown()).parse(discord.registeredCommands({ guildId: discord.guildId }));
    const agent = commands.map((c) => AgentCommand.safeParse(c)).find((p) => p.success)?.data;
    expect(agent?.options.find((o) => o.name === 'mode')?.choices?.map((c) => c.value)).toEqual(['react', 'plan', 'reflexion']);
  });

  it('mode:plan posts the plan, ticks tasks off in the status message and answers', async () => {
    const { discord } = await startBot();
    const tasks = [
      { id: 'clock', title: 'Check the clock in Tokyo', detail: 'current_time for Asia/Tokyo', dependsOn: [] },
      { id: 'day', title: 'Name the weekday', detail: 'from the time', dependsOn: ['clock'] },
    ];
    openai.script(
      { kind: 'text', content: JSON.stringify({ tasks }) },
      { kind: 'tool_calls', calls: [{ name: 'current_time', arguments: { timezone: 'Asia/Tokyo' } }] },
      { kind: 'text', content: 'Sunday 09:00 in Tokyo' },
      { kind: 'text', content: 'Sunday' },
      { kind: 'text', content: 'It is Sunday in Tokyo.' },
    );
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'What day is it in Tokyo?', mode: 'plan' } });
    const answer = await discord.waitFor(() => i.followUps().find((m) => m.content.includes('It is Sunday in Tokyo.')));
    expect(buttons(answer).map((b) => b.emoji)).toEqual(['👍', '👎', '🔁']);

    const status = await discord.waitFor(() => (i.original()?.content.startsWith('✅') === true ? i.original() : undefined));
    expect(status.content).toContain('✅ Check the clock in Tokyo\n✅ Name the weekday *(after clock)*');
    const thread = discord.threads()[0];
    const posted = await discord.waitFor(() => {
      const text = discord.channelMessages(thread?.id ?? '').map((m) => m.content).join('\n');
      return text.includes('Writing the answer') ? text : undefined;
    });
    expect(posted).toMatch(/📋 \*\*Plan: 2 tasks\*\*\n1\. Check the clock in Tokyo `clock`\n2\. Name the weekday \*\(after clock\)\* `day`/);
    expect(posted).toMatch(/▶️ \*\*Task 1\/2: Check the clock in Tokyo\*\*.*\n\*\*Step 1\*\* · calling `current_time`[\s\S]*▶️ \*\*Task 2\/2: Name the weekday\*\*[\s\S]*📝 \*\*Writing the answer from the results\*\*/);
  });

  it('mode:reflexion shows each attempt, its check and the reflection in the step summary', async () => {
    const { discord } = await startBot();
    openai.script(
      { kind: 'text', content: 'Monday.' },
      { kind: 'text', content: JSON.stringify({ met: false, missing: 'The day is wrong.' }) },
      { kind: 'text', content: JSON.stringify({ whatWentWrong: 'Guessed.', nextTime: 'Use current_time.' }) },
      { kind: 'text', content: 'Sunday.' },
      { kind: 'text', content: JSON.stringify({ met: true, missing: '' }) },
    );
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'What day is it in Tokyo?', mode: 'reflexion' } });
    await discord.waitFor(() => i.followUps().find((m) => m.content === 'Sunday.'));
    const thread = discord.threads()[0];
    const posted = await discord.waitFor(() => {
      const text = discord.channelMessages(thread?.id ?? '').map((m) => m.content).join('\n');
      return text.includes('Goal met') ? text : undefined;
    });
    expect(posted).toMatch(
      /🔁 \*\*Attempt 1 of 3\*\*\n\*\*Step 1\*\* · answer\n🔎 \*\*Goal not met yet\*\* — \*The day is wrong\. \(answer: “Monday\.”\)\*\n💭 \*\*Reflection on attempt 1\*\* — \*Attempt 1: Guessed\. Next time: Use current_time\.\*\n🔁 \*\*Attempt 2 of 3\*\*\n\*\*Step 2\*\* · answer\n✅ \*\*Goal met\*\* — \*answer: “Sunday\.”\*/,
    );
  });
});
