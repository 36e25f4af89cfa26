import { describe, expect, it } from 'vitest';
import type { FakeDiscord } from '../../fakes/discord/index.js';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { privateText, useBot } from './harness.js';

const openai = useFakeOpenAi();
const startBot = useBot(openai);

function schedule(discord: FakeDiscord, subcommand: string, options: Record<string, string>) {
  return privateText(discord.slash({ user: discord.users.carol, channelId: discord.channels.general, name: 'schedule', subcommand, options }), discord);
}

const HINT = 'Use five fields (minute hour day-of-month month day-of-week, e.g. "0 9 * * 1-5" for 09:00 on weekdays) or six with seconds first.';

// Before the bounded check, node-cron expanded each of these ranges into an array before looking
// at its bounds: the first ran the bot out of heap, the second blocked it for seconds. The
// refusals below come from the check that runs before node-cron sees the expression.
describe('/schedule add with an abusive cron expression', () => {
  it('is refused privately at once, and the bot goes on answering', async () => {
    const { discord } = await startBot();
    expect(await schedule(discord, 'add', { cron: '0-99999999999 * * * *', goal: 'Report' })).toBe(
      `"0-99999999999 * * * *" is not a valid cron expression (minute: 99999999999 is out of range (0–59)). ${HINT}`,
    );
    expect(await schedule(discord, 'add', { cron: '0 0-3000000 * * *', goal: 'Report' })).toBe(`"0 0-3000000 * * *" is not a valid cron expression (hour: 3000000 is out of range (0–23)). ${HINT}`);
    expect(await schedule(discord, 'add', { cron: '0 0 31 4 *', goal: 'Report' })).toBe(
      '"0 0 31 4 *" never runs: no date matches its day-of-month, month and day-of-week together (all three must match, e.g. "0 0 30 2 *" asks for February 30).',
    );
    expect(await schedule(discord, 'list', {})).toBe('No schedules here yet. Add one with `/schedule add`.');
  });
});
