/**
 * The fake Discord, driven through the real discord.js Client (nothing mocked): login, the
 * interaction rules (deadline, single acknowledgement, token lifetime), message limits,
 * permissions, components, reactions with partials, MessageContent redaction, 429 retries.
 */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { constants as zlibConstants, inflateSync } from 'node:zlib';
import {
  ActionRowBuilder,
  ApplicationCommandOptionType,
  ButtonBuilder,
  ButtonStyle,
  Client,
  Events,
  GatewayIntentBits,
  IntentsBitField,
  LabelBuilder,
  MessageFlags,
  ModalBuilder,
  Partials,
  REST,
  Routes,
  TextInputBuilder,
  TextInputStyle,
  type Message,
  type MessageReaction,
  type PartialMessageReaction,
} from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { apiError, INTENTS, isButton, isCommand, isModal, next, sendable } from './discord/client-helpers.js';
import { startFakeDiscord, type FakeDiscord, type FakeDiscordOptions } from './discord/index.js';

interface Harness {
  fake: FakeDiscord;
  client: Client;
}

/** One fake and one logged-in client per describe block; client destroyed before the fake closes. */
function useDiscord(options?: FakeDiscordOptions): () => Harness {
  let harness: Harness | undefined;
  beforeAll(async () => {
    const fake = await startFakeDiscord(options);
    const client = new Client({
      intents: INTENTS,
      partials: [Partials.Message, Partials.Reaction, Partials.Channel],
      rest: { api: fake.restApi },
    });
    const ready = once(client, Events.ClientReady);
    await client.login(fake.token);
    await ready;
    harness = { fake, client };
  });
  afterAll(async () => {
    await harness?.client.destroy();
    await harness?.fake.close();
  });
  return () => {
    if (!harness) throw new Error('used before beforeAll');
    return harness;
  };
}

describe('fake Discord with default rules', () => {
  const h = useDiscord();

  it('logs in, records least-privilege intents, and serves the guild', async () => {
    const { fake, client } = h();
    await fake.ready();
    expect(fake.identify()?.intents).toBe(new IntentsBitField(INTENTS).bitfield);
    expect(fake.identify()?.tokenValid).toBe(true);
    expect(client.user?.id).toBe(fake.botUserId);
    const guild = client.guilds.cache.get(fake.guildId);
    expect(guild?.members.me?.id).toBe(fake.botUserId);
    expect(fake.botUserId).toMatch(/^\d{17,19}$/);
    const gateway = fake.requests.find((r) => r.path === '/gateway/bot');
    expect(gateway?.headers.authorization).toBe(`Bot ${fake.token}`);
    // discord.js computes permissions from the overwrites the fake sent.
    const noThreads = guild?.channels.cache.get(fake.channels.noThreads);
    expect(noThreads?.permissionsFor(fake.botUserId)?.has('CreatePublicThreads')).toBe(false);
    const carol = await guild?.members.fetch(fake.users.carol.id);
    expect(carol?.permissions.has('ManageGuild')).toBe(true);
  });

  it('defers a slash command, then edits the reply, without Authorization on interaction routes', async () => {
    const { fake, client } = h();
    const pending = next(client, isCommand);
    const handle = fake.slash({ user: fake.users.alice, channelId: fake.channels.general, name: 'agent', options: { goal: 'plan a trip', private: false } });
    const interaction = await pending;
    expect(interaction.options.getString('goal')).toBe('plan a trip');
    expect(interaction.options.getBoolean('private')).toBe(false);
    await interaction.deferReply();
    expect(handle.original()?.flags).toBe(MessageFlags.Loading);
    await interaction.editReply('Here is the plan.');
    expect((await handle.acknowledged()).type).toBe(5);
    expect(handle.original()?.content).toBe('Here is the plan.');
    expect(handle.ephemeral()).toBe(false);
    expect(fake.channelMessages(fake.channels.general).map((m) => m.content)).toContain('Here is the plan.');
    const interactionCalls = fake.requests.filter((r) => r.path.startsWith('/interactions/') || r.path.startsWith('/webhooks/'));
    expect(interactionCalls.map((r) => r.path.split('/').at(-1))).toEqual(['callback', '@original']);
    expect(interactionCalls.every((r) => r.headers.authorization === undefined)).toBe(true);
  });

  it('refuses a second acknowledgement with 40060', async () => {
    const { fake, client } = h();
    const pending = next(client, isCommand);
    fake.slash({ user: fake.users.bob, channelId: fake.channels.general, name: 'help' });
    const interaction = await pending;
    await interaction.reply('Help text');
    // discord.js guards its own object, so go around it as a second handler or process would.
    const error = await apiError(
      client.rest.post(Routes.interactionCallback(interaction.id, interaction.token), { body: { type: 5 }, auth: false }),
    );
    expect(error.code).toBe(40060);
  });

  it('types slash options from the registered command, with subcommands and channel options', async () => {
    const { fake, client } = h();
    await client.application?.commands.set(
      [
        {
          name: 'schedule',
          description: 'Schedules',
          options: [
            {
              type: ApplicationCommandOptionType.Subcommand,
              name: 'add',
              description: 'Add one',
              options: [
                { type: ApplicationCommandOptionType.String, name: 'cron', description: 'When', required: true },
                { type: ApplicationCommandOptionType.Number, name: 'weight', description: 'Weight' },
                { type: ApplicationCommandOptionType.Channel, name: 'channel', description: 'Where' },
              ],
            },
          ],
        },
      ],
      fake.guildId,
    );
    expect(fake.registeredCommands({ guildId: fake.guildId })).toEqual([expect.objectContaining({ name: 'schedule' })]);
    const pending = next(client, isCommand);
    fake.slash({
      user: fake.users.carol,
      channelId: fake.channels.general,
      name: 'schedule',
      subcommand: 'add',
      options: { cron: '0 9 * * *', weight: 2, channel: { channel: fake.channels.readOnly } },
    });
    const interaction = await pending;
    expect(interaction.options.getSubcommand()).toBe('add');
    expect(interaction.options.getNumber('weight')).toBe(2); // 2 would be inferred as an integer
    expect(interaction.options.getChannel('channel')?.id).toBe(fake.channels.readOnly);
    expect(interaction.commandGuildId).toBe(fake.guildId);
    await interaction.reply({ content: 'Scheduled.', flags: MessageFlags.Ephemeral });
    const slash = (options: Record<string, string>) => () =>
      fake.slash({ user: fake.users.carol, channelId: fake.channels.general, name: 'schedule', subcommand: 'add', options });
    expect(slash({ cron: '* * * * *', when: 'now' })).toThrow(/no option "when"/);
    expect(slash({})).toThrow(/needs option "cron"/);
    expect(() => fake.slash({ user: fake.users.alice, channelId: fake.channels.general, name: 'nope' })).toThrow(/not a registered command/);
    await client.application?.commands.set([], fake.guildId);
  });

  it('turns the first follow-up after an ephemeral defer into the deferred reply', async () => {
    const { fake, client } = h();
    const pending = next(client, isCommand);
    const handle = fake.slash({ user: fake.users.alice, channelId: fake.channels.general, name: 'runs' });
    const interaction = await pending;
    const response = await interaction.deferReply({ flags: MessageFlags.Ephemeral, withResponse: true });
    expect(response.resource?.message?.flags.has(MessageFlags.Loading)).toBe(true);
    await interaction.followUp('first');
    await interaction.followUp({ content: 'second', flags: MessageFlags.Ephemeral });
    expect(handle.ephemeral()).toBe(true);
    expect(handle.original()).toMatchObject({ content: 'first', flags: MessageFlags.Ephemeral });
    expect(handle.followUps().map((m) => m.content)).toEqual(['first', 'second']);
    expect(fake.channelMessages(fake.channels.general).some((m) => m.content === 'first')).toBe(false);
  });

  it('refuses content over 2000 characters with 50035 and an empty message with 50006', async () => {
    const { fake, client } = h();
    const channel = await sendable(client, fake.channels.general);
    expect((await apiError(channel.send('x'.repeat(2001)))).code).toBe(50035);
    expect((await apiError(channel.send({ embeds: [{ description: 'y'.repeat(4097) }] }))).code).toBe(50035);
    expect((await apiError(client.rest.post(Routes.channelMessages(channel.id), { body: { content: '' } }))).code).toBe(50006);
    expect(fake.channelMessages(channel.id).some((m) => m.content.startsWith('xxx'))).toBe(false);
    await channel.send('x'.repeat(2000));
  });

  it('returns the message already created with an enforced nonce instead of creating another; without enforcement it creates one', async () => {
    const { fake, client } = h();
    const channel = await sendable(client, fake.channels.general);
    const first = await channel.send({ content: 'once only', nonce: 'run-1:0', enforceNonce: true });
    const again = await channel.send({ content: 'once only (again)', nonce: 'run-1:0', enforceNonce: true });
    expect(again.id).toBe(first.id);
    expect(again.content).toBe('once only');
    expect(fake.channelMessages(channel.id).filter((m) => m.content.startsWith('once only'))).toHaveLength(1);
    const loose = await channel.send({ content: 'twice', nonce: 'run-1:0' });
    expect(loose.id).not.toBe(first.id);
    expect((await apiError(channel.send({ content: 'long nonce', nonce: 'n'.repeat(26), enforceNonce: true }))).code).toBe(50035);
  });

  it('enforces channel permissions: no thread in noThreads, no message in readOnly', async () => {
    const { fake, client } = h();
    const noThreads = await sendable(client, fake.channels.noThreads);
    const starter = await noThreads.send('Run started');
    const error = await apiError(starter.startThread({ name: 'run' }));
    expect(error.code).toBe(50013);
    expect(error.status).toBe(403);
    const readOnly = await sendable(client, fake.channels.readOnly);
    expect((await apiError(readOnly.send('hello'))).code).toBe(50013);
    // Interaction replies need no Send Messages: they go through the interaction webhook.
    const pending = next(client, isCommand);
    const handle = fake.slash({ user: fake.users.bob, channelId: fake.channels.readOnly, name: 'help' });
    await (await pending).reply('Help, even here');
    expect(handle.original()?.content).toBe('Help, even here');

    const general = await sendable(client, fake.channels.general);
    const root = await general.send('Goal: tidy up');
    const thread = await root.startThread({ name: 'Run 1' });
    await thread.send('step 1');
    expect(fake.threads()).toEqual([expect.objectContaining({ id: root.id, parentId: general.id, name: 'Run 1', starterMessageId: root.id })]);
    expect(fake.channelMessages(thread.id).map((m) => m.content)).toEqual(['step 1']);
  });

  it('delivers a button click and applies the update', async () => {
    const { fake, client } = h();
    const channel = await sendable(client, fake.channels.general);
    const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder().setCustomId('vote:up').setEmoji('👍').setStyle(ButtonStyle.Secondary),
      new ButtonBuilder().setCustomId('vote:down').setEmoji('👎').setStyle(ButtonStyle.Secondary),
    );
    const sent = await channel.send({ content: 'Answer: 42', components: [row] });
    const answer = fake.message(sent.id);
    if (!answer) throw new Error('answer not stored');
    const pending = next(client, isButton);
    const handle = fake.clickButton({ user: fake.users.alice, message: answer, customId: 'vote:up' });
    const click = await pending;
    expect(click.customId).toBe('vote:up');
    expect(click.message.id).toBe(sent.id);
    await click.update({ content: 'Answer: 42 (thanks!)', components: [] });
    expect((await handle.acknowledged()).type).toBe(7);
    expect(fake.message(sent.id)).toMatchObject({ content: 'Answer: 42 (thanks!)', components: [] });
    expect(() => fake.clickButton({ user: fake.users.bob, message: answer, customId: 'vote:up' })).toThrow(/no button/);
  });

  it('opens a modal and receives its submission', async () => {
    const { fake, client } = h();
    const pending = next(client, isCommand);
    const handle = fake.slash({ user: fake.users.carol, channelId: fake.channels.general, name: 'feedback' });
    const command = await pending;
    const modal = new ModalBuilder()
      .setCustomId('feedback:comment')
      .setTitle('What went wrong?')
      .addLabelComponents(
        new LabelBuilder()
          .setLabel('Comment')
          .setTextInputComponent(new TextInputBuilder().setCustomId('comment').setStyle(TextInputStyle.Paragraph)),
      );
    await command.showModal(modal);
    expect(handle.modal()).toMatchObject({ custom_id: 'feedback:comment', title: 'What went wrong?' });

    const submitted = next(client, isModal);
    const submit = fake.submitModal({ user: fake.users.carol, channelId: fake.channels.general, customId: 'feedback:comment', fields: { comment: 'Too slow' } });
    const modalSubmit = await submitted;
    expect(modalSubmit.fields.getTextInputValue('comment')).toBe('Too slow');
    await modalSubmit.reply({ content: 'Noted.', flags: MessageFlags.Ephemeral });
    expect(submit.ephemeral()).toBe(true);
    expect(submit.original()?.content).toBe('Noted.');
    expect(fake.channelMessages(fake.channels.general).some((m) => m.content === 'Noted.')).toBe(false);
  });

  it('delivers a reaction on an uncached message to a client with partials', async () => {
    const { fake, client } = h();
    const message = fake.postMessage({ user: fake.users.alice, channelId: fake.channels.general, content: 'old news' });
    const general = await sendable(client, fake.channels.general);
    await fake.waitFor(() => general.messages.cache.has(message.id));
    general.messages.cache.delete(message.id); // as after a restart
    const reacted = once(client, Events.MessageReactionAdd) as Promise<[MessageReaction | PartialMessageReaction]>;
    fake.react({ user: fake.users.bob, message, emoji: '👍' });
    const [reaction] = await reacted;
    expect(reaction.partial).toBe(true);
    expect(reaction.message.partial).toBe(true);
    expect(reaction.emoji.name).toBe('👍');
    const fetched = await reaction.message.fetch();
    expect(fetched.content).toBe(''); // no MessageContent intent: others' content is hidden on REST too
    await fetched.react('👎');
    expect(fake.message(message.id)?.reactions).toEqual(['👎']);
  });

  it('delivers content for mentions and DMs but not for plain guild messages', async () => {
    const { fake, client } = h();
    const received: Message[] = [];
    const listener = (message: Message): void => {
      if (message.author.id !== fake.botUserId) received.push(message);
    };
    client.on(Events.MessageCreate, listener);
    fake.postMessage({ user: fake.users.alice, channelId: fake.channels.general, content: 'just chatting' });
    fake.postMessage({ user: fake.users.alice, channelId: fake.channels.general, content: 'what is 2+2?', mentionBot: true });
    fake.dm({ user: fake.users.bob, content: 'hello in private' });
    await fake.waitFor(() => received.length >= 3);
    client.off(Events.MessageCreate, listener);
    const [plain, mention, dm] = received;
    expect(plain?.content).toBe('');
    expect(mention?.content).toBe(`<@${fake.botUserId}> what is 2+2?`);
    expect(mention?.mentions.users.has(fake.botUserId)).toBe(true);
    expect(dm?.content).toBe('hello in private');
    expect(dm?.channel.isDMBased()).toBe(true);
    expect(fake.channelMessages(fake.channels.general).some((m) => m.content === 'just chatting')).toBe(true);
  });

  it('answers an injected 429 with Retry-After, which discord.js retries silently', async () => {
    const { fake, client } = h();
    fake.failNext({ method: 'POST', path: /^\/channels\/\d+\/messages$/ }, { status: 429, retryAfterS: 0.2 });
    const channel = await sendable(client, fake.channels.general);
    const sent = await channel.send('after the rate limit');
    const posts = fake.requests.filter((r) => r.method === 'POST' && r.path === `/channels/${channel.id}/messages`).slice(-2);
    expect(posts.map((r) => r.status)).toEqual([429, 200]);
    expect((posts[1]?.at ?? 0) - (posts[0]?.at ?? 0)).toBeGreaterThanOrEqual(190);
    expect(fake.message(sent.id)?.content).toBe('after the rate limit');
  });

  it('parses multipart bodies, records unknown routes, and refuses a wrong token', async () => {
    const { fake, client } = h();
    const channel = await sendable(client, fake.channels.general);
    const sent = await channel.send({ content: 'report', files: [{ attachment: Buffer.from('a,b\n1,2\n'), name: 'report.csv' }] });
    expect(fake.message(sent.id)?.attachments).toEqual([expect.objectContaining({ filename: 'report.csv', size: 8 })]);
    const upload = fake.requests.find((r) => r.files.length > 0);
    expect(upload?.body).toMatchObject({ content: 'report' });

    const unknown = await apiError(client.rest.get('/guilds/1/nothing-here'));
    expect(unknown.status).toBe(404);
    expect(fake.requests.at(-1)).toMatchObject({ path: '/guilds/1/nothing-here', status: 404 });

    const stranger = new REST({ api: fake.restApi }).setToken('not-the-token');
    expect((await apiError(stranger.get(Routes.user('@me')))).status).toBe(401);
  });
});

describe('fake Discord with short interaction deadlines', () => {
  const h = useDiscord({ ackDeadlineMs: 300, interactionTokenTtlMs: 600 });

  it('answers a late first acknowledgement with 10062 Unknown interaction', async () => {
    const { fake, client } = h();
    const pending = next(client, isCommand);
    const handle = fake.slash({ user: fake.users.alice, channelId: fake.channels.general, name: 'agent', options: { goal: 'slow' } });
    const interaction = await pending;
    await sleep(400);
    const error = await apiError(interaction.deferReply());
    expect(error.code).toBe(10062);
    await expect(handle.acknowledged()).rejects.toThrow(/not acknowledged within 300 ms/);
  });

  it('answers edits after the interaction token expired with 50027, and the bot token still works', async () => {
    const { fake, client } = h();
    const pending = next(client, isCommand);
    fake.slash({ user: fake.users.alice, channelId: fake.channels.general, name: 'agent', options: { goal: 'long run' } });
    const interaction = await pending;
    await interaction.deferReply();
    await interaction.editReply('step 1');
    await sleep(650);
    expect((await apiError(interaction.editReply('final answer'))).code).toBe(50027);
    expect((await apiError(interaction.followUp('final answer'))).code).toBe(50027);
    // The fallback the bot needs: a plain channel message.
    const channel = await sendable(client, fake.channels.general);
    await channel.send('final answer');
    expect(fake.channelMessages(fake.channels.general).at(-1)?.content).toBe('final answer');
  });
});

describe('fake Discord gateway, spoken to directly', () => {
  let fake: FakeDiscord;
  beforeAll(async () => {
    fake = await startFakeDiscord({ privilegedIntents: [] });
  });
  afterAll(async () => {
    await fake.close();
  });

  interface Frame {
    op: number;
    t?: string;
  }

  /** Connects, identifies after HELLO, and collects frames until `enough` or the socket closes. */
  async function converse(query: string, identify: Record<string, unknown>, enough: (frames: Frame[]) => boolean): Promise<{ frames: Frame[]; close?: number }> {
    const socket = new WebSocket(`${fake.restApi.replace('http', 'ws').replace('/api', '/gateway')}?${query}`);
    const frames: Frame[] = [];
    let compressed = Buffer.alloc(0);
    let consumed = 0;
    const done = new Promise<number | undefined>((resolve) => {
      socket.on('close', (code: number) => {
        resolve(code);
      });
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        let text = data.toString('utf8');
        if (isBinary) {
          // zlib-stream: one context for the connection, every payload ends with a sync flush.
          compressed = Buffer.concat([compressed, data]);
          const all = inflateSync(compressed, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString('utf8');
          text = all.slice(consumed);
          consumed = all.length;
        }
        const frame = JSON.parse(text) as Frame;
        frames.push(frame);
        if (frame.op === 10) socket.send(JSON.stringify({ op: 2, d: identify }));
        if (enough(frames)) resolve(undefined);
      });
    });
    const close = await done;
    socket.terminate();
    return close === undefined ? { frames } : { frames, close };
  }

  it('closes 4004 on a bad token and 4014 on a privileged intent the app lacks', async () => {
    const properties = { os: 'linux', browser: 'test', device: 'test' };
    const never = (): boolean => false;
    const bad = await converse('v=10&encoding=json', { token: 'nope', intents: 1, properties }, never);
    expect(bad.close).toBe(4004);
    expect(fake.identify()?.tokenValid).toBe(false);
    const intents = GatewayIntentBits.Guilds | GatewayIntentBits.MessageContent;
    const privileged = await converse('v=10&encoding=json', { token: fake.token, intents, properties }, never);
    expect(privileged.close).toBe(4014);
  });

  it('speaks zlib-stream when asked and sends READY then GUILD_CREATE', async () => {
    const query = 'v=10&encoding=json&compress=zlib-stream';
    const result = await converse(query, { token: fake.token, intents: 1, properties: {} }, (f) => f.length >= 3);
    expect(result.frames.map((f) => f.t ?? f.op)).toEqual([10, 'READY', 'GUILD_CREATE']);
    expect(fake.identify()?.transportCompression).toBe('zlib-stream');
  });
});
