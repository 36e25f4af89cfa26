/**
 * The fake Discord's second guild, driven through the real discord.js Client: both guilds arrive
 * on READY, and everything per-guild (members, roles, permissions, commands, messages,
 * reactions, threads, interactions) carries the right guild. mallory is the cross-server case:
 * admin of "Other Server", a plain member of the main guild.
 */
import { once } from 'node:events';
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  Client,
  Events,
  LabelBuilder,
  MessageFlags,
  ModalBuilder,
  Partials,
  Routes,
  TextInputBuilder,
  TextInputStyle,
  type Message,
  type MessageReaction,
  type PartialMessageReaction,
} from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { INTENTS, isButton, isCommand, isModal, next, sendable } from './discord/client-helpers.js';
import { startFakeDiscord, type FakeDiscord } from './discord/index.js';

describe('fake Discord with a second guild', () => {
  let fake: FakeDiscord;
  let client: Client;
  beforeAll(async () => {
    fake = await startFakeDiscord();
    client = new Client({ intents: INTENTS, partials: [Partials.Message, Partials.Reaction, Partials.Channel], rest: { api: fake.restApi } });
    const ready = once(client, Events.ClientReady);
    await client.login(fake.token);
    await ready;
  });
  afterAll(async () => {
    await client.destroy();
    await fake.close();
  });

  it('sends both guilds on READY, each with its own roles, channels and members', async () => {
    expect(fake.guilds.main).toBe(fake.guildId);
    expect(fake.guilds.other).not.toBe(fake.guilds.main);
    const main = client.guilds.cache.get(fake.guilds.main);
    const other = client.guilds.cache.get(fake.guilds.other);
    expect(main?.name).toBe('Cairn Test Server');
    expect(other?.name).toBe('Other Server');
    expect(other?.preferredLocale).toBe('en-GB');
    expect(other?.members.me?.id).toBe(fake.botUserId);
    expect(other?.roles.everyone.id).toBe(fake.guilds.other);
    expect(other?.roles.cache.has(fake.roles.otherAdmin)).toBe(true);
    expect(main?.roles.cache.has(fake.roles.otherAdmin)).toBe(false);
    expect([...(other?.channels.cache.keys() ?? [])]).toEqual([fake.channels.otherGeneral]);
    expect(main?.channels.cache.has(fake.channels.otherGeneral)).toBe(false);
    expect(client.channels.cache.get(fake.channels.otherGeneral)?.isTextBased()).toBe(true);

    const malloryThere = await other?.members.fetch(fake.users.mallory.id);
    const malloryHere = await main?.members.fetch(fake.users.mallory.id);
    expect(malloryThere?.roles.cache.has(fake.roles.otherAdmin)).toBe(true);
    expect(malloryThere?.permissions.has('ManageGuild')).toBe(true);
    expect(malloryHere?.roles.cache.has(fake.roles.member)).toBe(true);
    expect(malloryHere?.permissions.has('ManageGuild')).toBe(false);
    await expect(other?.members.fetch(fake.users.alice.id)).rejects.toThrow(/Unknown Member/);
    // The bot may post in the other guild's channel, as in the main one.
    expect(other?.channels.cache.get(fake.channels.otherGeneral)?.permissionsFor(fake.botUserId)?.has('SendMessages')).toBe(true);
  });

  it('lists both guilds as unavailable in READY, then sends one GUILD_CREATE per guild', async () => {
    const socket = new WebSocket(`${fake.restApi.replace('http', 'ws').replace('/api', '/gateway')}?v=10&encoding=json`);
    const frames: { op: number; t?: string; d?: { id?: string; guilds?: unknown } }[] = [];
    await new Promise<void>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString('utf8')) as (typeof frames)[number];
        frames.push(frame);
        if (frame.op === 10) socket.send(JSON.stringify({ op: 2, d: { token: fake.token, intents: 1, properties: {} } }));
        if (frames.length === 4) resolve();
      });
    });
    socket.terminate();
    expect(frames.map((f) => f.t ?? f.op)).toEqual([10, 'READY', 'GUILD_CREATE', 'GUILD_CREATE']);
    expect(frames[1]?.d?.guilds).toEqual([
      { id: fake.guilds.main, unavailable: true },
      { id: fake.guilds.other, unavailable: true },
    ]);
    expect(frames.slice(2).map((f) => f.d?.id)).toEqual([fake.guilds.main, fake.guilds.other]);
  });

  it('registers commands per guild, and offers a guild command only in its guild', async () => {
    const body = (description: string) => [{ name: 'whoami', description }];
    await client.rest.put(Routes.applicationGuildCommands(fake.applicationId, fake.guilds.main), { body: body('main') });
    expect(() => fake.slash({ user: fake.users.mallory, channelId: fake.channels.otherGeneral, name: 'whoami' })).toThrow(/not a registered command here/);
    await client.rest.put(Routes.applicationGuildCommands(fake.applicationId, fake.guilds.other), { body: body('other') });
    expect(fake.registeredCommands({ guildId: fake.guilds.main })).toEqual(body('main'));
    expect(fake.registeredCommands({ guildId: fake.guilds.other })).toEqual(body('other'));
  });

  it('delivers mallory’s slash command in otherGeneral with the other guild’s context (ManageGuild)', async () => {
    const pending = next(client, isCommand);
    const handle = fake.slash({ user: fake.users.mallory, channelId: fake.channels.otherGeneral, name: 'whoami' });
    const command = await pending;
    expect(command.guildId).toBe(fake.guilds.other);
    expect(command.channelId).toBe(fake.channels.otherGeneral);
    expect(command.commandGuildId).toBe(fake.guilds.other);
    expect(command.guildLocale).toBe('en-GB');
    expect(command.memberPermissions?.has('ManageGuild')).toBe(true);
    expect(command.appPermissions.has('SendMessages')).toBe(true);
    const roles = command.member && 'roles' in command.member ? command.member.roles : undefined;
    expect(Array.isArray(roles) ? roles : roles?.cache.map((r) => r.id)).toContain(fake.roles.otherAdmin);
    await command.reply({ content: 'admin here' });
    expect(handle.original()?.guildId).toBe(fake.guilds.other);
  });

  it('delivers mallory’s slash command in the main guild without ManageGuild', async () => {
    const pending = next(client, isCommand);
    fake.slash({ user: fake.users.mallory, channelId: fake.channels.general, name: 'whoami' });
    const command = await pending;
    expect(command.guildId).toBe(fake.guilds.main);
    expect(command.commandGuildId).toBe(fake.guilds.main);
    expect(command.guildLocale).toBe('en-US');
    expect(command.memberPermissions?.has('ManageGuild')).toBe(false);
    expect(command.memberPermissions?.has('UseApplicationCommands')).toBe(true);
    await command.reply({ content: 'member here', flags: MessageFlags.Ephemeral });
  });

  it('refuses what non-members could not do: acting in a guild one is not in', () => {
    const alice = fake.users.alice;
    expect(() => fake.slash({ user: alice, channelId: fake.channels.otherGeneral, name: 'whoami' })).toThrow(/cannot see channel/);
    expect(() => fake.postMessage({ user: alice, channelId: fake.channels.otherGeneral, content: 'hi' })).toThrow(/may not post/);
    expect(() =>
      fake.submitModal({ user: alice, channelId: fake.channels.otherGeneral, customId: 'x', fields: {}, forge: true }),
    ).toThrow(/cannot see channel/);
  });

  it('sends MESSAGE_CREATE and MESSAGE_REACTION_ADD from the other guild with its guild_id and member', async () => {
    const created = once(client, Events.MessageCreate) as Promise<[Message]>;
    const posted = fake.postMessage({ user: fake.users.mallory, channelId: fake.channels.otherGeneral, content: 'hello', mentionBot: true });
    const [message] = await created;
    expect(posted.guildId).toBe(fake.guilds.other);
    expect(message.guildId).toBe(fake.guilds.other);
    expect(message.member?.roles.cache.has(fake.roles.otherAdmin)).toBe(true);
    expect(message.member?.permissions.has('ManageGuild')).toBe(true);

    const reacted = once(client, Events.MessageReactionAdd) as Promise<[MessageReaction | PartialMessageReaction]>;
    fake.react({ user: fake.users.mallory, message: posted, emoji: '👍' });
    const [reaction] = await reacted;
    expect(reaction.message.guildId).toBe(fake.guilds.other);
    expect(reaction.message.channelId).toBe(fake.channels.otherGeneral);
  });

  it('creates a thread in the other guild’s channel, and messages there belong to that guild', async () => {
    const channel = await sendable(client, fake.channels.otherGeneral);
    const starter = await channel.send('start here');
    const thread = await starter.startThread({ name: 'other thread' });
    expect(thread.guildId).toBe(fake.guilds.other);
    expect(fake.threads().find((t) => t.id === thread.id)?.parentId).toBe(fake.channels.otherGeneral);
    await thread.send('inside');
    expect(fake.channelMessages(thread.id).at(-1)?.guildId).toBe(fake.guilds.other);
    const created = once(client, Events.MessageCreate) as Promise<[Message]>;
    fake.postMessage({ user: fake.users.mallory, channelId: thread.id, content: 'reply', mentionBot: true });
    const [message] = await created;
    expect(message.guildId).toBe(fake.guilds.other);
  });

  it('delivers a button click and a modal submission in the other guild with its context', async () => {
    const channel = await sendable(client, fake.channels.otherGeneral);
    const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder().setCustomId('note').setLabel('Note').setStyle(ButtonStyle.Primary),
    );
    const sent = await channel.send({ content: 'press', components: [row] });
    const message = fake.message(sent.id);
    if (!message) throw new Error('message not recorded');
    expect(() => fake.clickButton({ user: fake.users.alice, message, customId: 'note' })).toThrow(/cannot see channel/);

    const pressed = next(client, isButton);
    fake.clickButton({ user: fake.users.mallory, message, customId: 'note' });
    const button = await pressed;
    expect(button.guildId).toBe(fake.guilds.other);
    expect(button.memberPermissions?.has('ManageGuild')).toBe(true);
    await button.showModal(
      new ModalBuilder()
        .setCustomId('note:modal')
        .setTitle('Note')
        .addLabelComponents(
          new LabelBuilder().setLabel('Text').setTextInputComponent(new TextInputBuilder().setCustomId('text').setStyle(TextInputStyle.Short)),
        ),
    );
    const submitted = next(client, isModal);
    fake.submitModal({ user: fake.users.mallory, channelId: fake.channels.otherGeneral, customId: 'note:modal', fields: { text: 'hi' } });
    const modal = await submitted;
    expect(modal.guildId).toBe(fake.guilds.other);
    expect(modal.memberPermissions?.has('ManageGuild')).toBe(true);
    expect(modal.fields.getTextInputValue('text')).toBe('hi');
    await modal.reply({ content: 'noted', flags: MessageFlags.Ephemeral });
  });

  it('forges a modal submission only when asked (a modified client), with the forger’s real context', async () => {
    const bob = fake.users.bob;
    // The bot showed note:modal to mallory, not to bob; nor did it show bob anything called "run:approve:123".
    expect(() => fake.submitModal({ user: bob, channelId: fake.channels.general, customId: 'note:modal', fields: { text: 'x' } })).toThrow(
      /never showed bob/,
    );
    const submitted = next(client, isModal);
    fake.submitModal({ user: bob, channelId: fake.channels.general, customId: 'run:approve:123', fields: { reason: 'trust me' }, forge: true });
    const forged = await submitted;
    expect(forged.customId).toBe('run:approve:123');
    expect(forged.user.id).toBe(bob.id);
    expect(forged.guildId).toBe(fake.guilds.main);
    expect(forged.memberPermissions?.has('ManageGuild')).toBe(false);
    expect(forged.fields.getTextInputValue('reason')).toBe('trust me');
    await forged.reply({ content: 'refused', flags: MessageFlags.Ephemeral });
  });

  it('refuses a click on a button that is not there, or on someone else’s ephemeral message', async () => {
    const pending = next(client, isCommand);
    fake.slash({ user: fake.users.mallory, channelId: fake.channels.general, name: 'whoami' });
    const command = await pending;
    const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder().setCustomId('mine').setLabel('Mine').setStyle(ButtonStyle.Secondary),
    );
    const reply = await command.reply({ content: 'only you', components: [row], flags: MessageFlags.Ephemeral, withResponse: true });
    const message = fake.message(reply.resource?.message?.id ?? '');
    if (!message) throw new Error('ephemeral reply not recorded');
    expect(() => fake.clickButton({ user: fake.users.alice, message, customId: 'mine' })).toThrow(/ephemeral/);
    expect(() => fake.clickButton({ user: fake.users.mallory, message, customId: 'approve' })).toThrow(/no button/);
  });
});
