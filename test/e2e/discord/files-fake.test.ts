/**
 * The fake Discord's CDN and upload limits, through the real discord.js client: what the files
 * tests rely on (signed URLs, 404s, Discord's limits on what a bot uploads) holds.
 */
import { AttachmentBuilder, Client, DiscordAPIError, GatewayIntentBits, type SendableChannels } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeDiscord, type FakeDiscord } from '../../fakes/discord/index.js';

let discord: FakeDiscord | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.destroy();
  await discord?.close();
});

async function connect(): Promise<{ discord: FakeDiscord; channel: SendableChannels }> {
  discord = await startFakeDiscord();
  client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages], rest: { api: discord.restApi } });
  await client.login(discord.token);
  await discord.ready();
  const channel = await client.channels.fetch(discord.channels.general);
  if (channel?.isSendable() !== true) throw new Error('general is not sendable');
  return { discord, channel };
}

const file = (name: string, bytes: number) => new AttachmentBuilder(Buffer.alloc(bytes, 1), { name });

describe('the fake CDN', () => {
  it('serves an uploaded file at its signed URL only: a changed signature, a missing one or an unknown file is a 404', async () => {
    const { discord } = await connect();
    const upload = discord.upload('data.csv', Buffer.from('a,b\n1,2\n'), 'text/csv');
    expect(upload).toMatchObject({ filename: 'data.csv', size: 8, content_type: 'text/csv' });
    expect(upload.url).toMatch(new RegExp(`^${discord.cdn.origin}/attachments/\\d+/${upload.id}/data\\.csv\\?ex=[0-9a-f]+&is=[0-9a-f]+&hm=[0-9a-f]{64}$`));
    const ok = await fetch(upload.url);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('a,b\n1,2\n');
    const tampered = upload.url.replace(/hm=([0-9a-f])/, (_m, c: string) => `hm=${c === '0' ? '1' : '0'}`);
    expect((await fetch(tampered)).status).toBe(404);
    expect((await fetch(upload.url.split('?')[0] ?? '')).status).toBe(404);
    expect((await fetch(upload.url.replace(upload.id, `${upload.id}9`))).status).toBe(404);
  });

  it('stores what the bot uploads, with image sizes, and serves the bytes that reached Discord', async () => {
    const { channel } = await connect();
    // A 3×2 PNG's signature and IHDR: enough for Discord to report its width and height.
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), Buffer.from('IHDR'), Buffer.from([0, 0, 0, 3, 0, 0, 0, 2, 8, 6, 0, 0, 0])]);
    const sent = await channel.send({ content: 'chart', files: [new AttachmentBuilder(png, { name: 'chart.png' })] });
    const attachment = sent.attachments.first();
    expect(attachment).toMatchObject({ name: 'chart.png', size: png.length, width: 3, height: 2 });
    const served = await fetch(attachment?.url ?? '');
    expect(Buffer.from(await served.arrayBuffer())).toEqual(png);
  });

  it('enforces Discord’s limits on uploads: 10 MiB a file (413, 40005) and 10 files a message (50035)', async () => {
    const { discord, channel } = await connect();
    const tooLarge = await channel.send({ files: [file('big.bin', 10 * 1024 * 1024 + 1)] }).catch((error: unknown) => error);
    expect(tooLarge).toBeInstanceOf(DiscordAPIError);
    expect(tooLarge).toMatchObject({ status: 413, code: 40005 });
    const tooMany = await channel.send({ files: Array.from({ length: 11 }, (_, n) => file(`f${n}.txt`, 1)) }).catch((error: unknown) => error);
    expect(tooMany).toMatchObject({ status: 400, code: 50035 });
    // At the limits, both go through.
    await expect(channel.send({ files: Array.from({ length: 10 }, (_, n) => file(`f${n}.txt`, 1)) })).resolves.toBeDefined();
    await expect(channel.send({ files: [file('max.bin', 10 * 1024 * 1024)] })).resolves.toBeDefined();
    expect(discord.channelMessages(discord.channels.general).map((m) => m.attachments.length)).toEqual([10, 1]);
  });
});
