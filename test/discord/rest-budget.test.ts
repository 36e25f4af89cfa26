import { Routes } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { InteractionExemptREST } from '../../src/discord/rest-budget.js';
import { startFakeDiscord, type FakeDiscord } from '../fakes/discord/index.js';

let discord: FakeDiscord | undefined;
afterEach(async () => {
  await discord?.close();
  discord = undefined;
});

describe('the bot\u2019s global request budget', () => {
  it('is spent by channel requests and not by interaction traffic (callbacks, the reply\u2019s webhook)', async () => {
    discord = await startFakeDiscord();
    const rest = new InteractionExemptREST({ api: discord.restApi, globalRequestsPerSecond: 50 });
    rest.setToken(discord.token);
    rest.setApplicationId(discord.applicationId);
    const ignore = () => undefined;
    // Unknown tokens: Discord (and the fake) refuse them, but each is still a request through a manager.
    await rest.patch(Routes.webhookMessage(discord.applicationId, 'tok', '@original'), { body: { content: 'x' }, auth: false }).catch(ignore);
    await rest.post(Routes.webhook(discord.applicationId, 'tok'), { body: { content: 'x' }, auth: false }).catch(ignore);
    await rest.post(Routes.interactionCallback('123456789012345678', 'tok'), { body: { type: 5 }, auth: false }).catch(ignore);
    expect(rest.globalRemaining).toBe(50);
    await rest.post(Routes.channelMessages(discord.channels.general), { body: { content: 'hello' } });
    expect(rest.globalRemaining).toBe(49);
    // Another application's webhook is an ordinary request.
    await rest.post(Routes.webhook('123456789012345678', 'tok'), { body: { content: 'x' }, auth: false }).catch(ignore);
    expect(rest.globalRemaining).toBe(48);
    rest.clearHashSweeper();
    rest.clearHandlerSweeper();
  });
});
