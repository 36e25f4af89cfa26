import { REST, Routes } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { startRestProxy, type RestProxy } from '../../src/rest-proxy/proxy.js';
import { startFakeDiscord, type FakeDiscord } from '../fakes/discord/index.js';

let discord: FakeDiscord | undefined;
let proxy: RestProxy | undefined;
const clients: REST[] = [];
afterEach(async () => {
  for (const rest of clients.splice(0)) {
    rest.clearHashSweeper();
    rest.clearHandlerSweeper();
  }
  await proxy?.close();
  await discord?.close();
  proxy = undefined;
  discord = undefined;
});

/** A process's REST client as Cairn configures it behind the proxy: its own budget set far above the bot's. */
function client(port: number, token: string): REST {
  const rest = new REST({ api: `http://127.0.0.1:${port}/api`, globalRequestsPerSecond: 1_000 }).setToken(token);
  clients.push(rest);
  return rest;
}

describe('cairn rest-proxy', () => {
  it('spends one global budget for several processes: their requests reach Discord paced as one bot', async () => {
    discord = await startFakeDiscord();
    proxy = await startRestProxy({ host: '127.0.0.1', port: 0, upstream: discord.restApi, token: discord.token, globalRequestsPerSecond: 5, log: silentLogger() });
    const port = proxy.port;
    const before = discord.requests.length;
    const fake = discord;
    // Three processes, eight messages each, all at once.
    const sent = await Promise.all(
      [0, 1, 2].flatMap((n) => {
        const rest = client(port, fake.token);
        return Array.from({ length: 8 }, (_, i) => rest.post(Routes.channelMessages(fake.channels.general), { body: { content: `p${n}-${i}` } }));
      }),
    );
    expect(sent).toHaveLength(24);
    expect(discord.channelMessages(discord.channels.general).filter((m) => /^p\d-\d$/.test(m.content))).toHaveLength(24);
    // Paced as one bot at 5 a second: any six in a row reached Discord across a budget window
    // (1 s, less the requests' own jitter); three limiters of their own would have sent all 24 at once.
    const arrivals = discord.requests
      .slice(before)
      .filter((r) => r.method === 'POST')
      .map((r) => r.at)
      .sort((a, b) => a - b);
    const spans = arrivals.slice(5).map((at, i) => at - (arrivals[i] ?? at));
    expect(Math.min(...spans)).toBeGreaterThanOrEqual(800);
  }, 20_000);

  it("passes Discord's answers through: errors with their status and body, successes with theirs", async () => {
    discord = await startFakeDiscord();
    proxy = await startRestProxy({ host: '127.0.0.1', port: 0, upstream: discord.restApi, token: discord.token, globalRequestsPerSecond: 50, log: silentLogger() });
    const rest = client(proxy.port, discord.token);
    const channel = (await rest.get(Routes.channel(discord.channels.general))) as { id: string };
    expect(channel.id).toBe(discord.channels.general);
    await expect(rest.get(Routes.channel('123456789012345678'))).rejects.toMatchObject({ status: 404, code: 10003 });
    // A wrong token is refused by Discord, not accepted by the proxy.
    await expect(client(proxy.port, 'not-the-token').get(Routes.channel(discord.channels.general))).rejects.toMatchObject({ status: 401 });
  });
});
