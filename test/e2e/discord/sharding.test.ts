import { describe, expect, it } from 'vitest';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { useBot } from './harness.js';

const openai = useFakeOpenAi();
const startBot = useBot(openai);

describe('a sharded gateway (CAIRN_SHARDS)', () => {
  it("with `auto`, opens as many shards as Discord recommends; a server's runs arrive on its shard, DMs on shard 0", async () => {
    const { discord } = await startBot({ env: { CAIRN_SHARDS: 'auto' }, discord: { recommendedShards: 2 } });
    expect(discord.identifies().map((i) => i.shard).sort()).toEqual([
      [0, 2],
      [1, 2],
    ]);
    openai.script({ kind: 'text', content: 'Answered on its shard.' });
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'hello' } });
    await discord.waitFor(() => i.followUps().find((m) => m.content.includes('Answered on its shard.')));
    openai.script({ kind: 'text', content: 'Answered in the DM.' });
    const dm = discord.dm({ user: discord.users.alice, content: 'hello in private' });
    await discord.waitFor(() => discord.channelMessages(dm.channelId).find((m) => m.content.includes('Answered in the DM.')));
  });

  it('with a number, opens that many shards', async () => {
    const { discord } = await startBot({ env: { CAIRN_SHARDS: '2' } });
    expect(discord.identifies().map((i) => i.shard?.join('/')).sort()).toEqual(['0/2', '1/2']);
  });

  it('unset, one connection as Discord needs below 2,500 servers', async () => {
    const { discord } = await startBot();
    expect(discord.identifies()).toHaveLength(1);
  });
});
