/**
 * Simulated users: what people do in the Discord client, turned into state changes and the
 * gateway events Discord sends the bot. Impossible actions (clicking a button that is not
 * there, acting in a channel one cannot see, posting where one may not) throw, since a real user
 * could not do them either. The one deliberate exception is `submitModal({ forge: true })`: a
 * modified client submitting a modal the bot never showed (see its comment).
 */
import { storedAttachment } from './cdn.js';
import { autocompleteData, autocompleteHandle, type AutocompleteOptions, type FakeAutocomplete } from './autocomplete.js';
import type { Gateway } from './gateway.js';
import { basePayload, messageCommandData, slashData } from './interaction-payloads.js';
import type { InteractionRecord, Interactions } from './interactions.js';
import type { Messages } from './messages.js';
import { forgedModalComponents, modalComponents } from './modal-submit.js';
import { messagePayload } from './payloads.js';
import { has, Permission } from './permissions.js';
import { FLAG_EPHEMERAL } from './rules.js';
import { interactionToken } from './snowflake.js';
import type { FakeDiscord, FakeInteraction, FakeMessage, FakeUser, SlashOptions } from './types.js';
import type { StoredMessage, World } from './world.js';

const Button = { type: 2 };

function findButton(nodes: unknown, customId: string): Record<string, unknown> | undefined {
  if (Array.isArray(nodes)) {
    for (const node of nodes) {
      const found = findButton(node, customId);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof nodes !== 'object' || nodes === null) return undefined;
  const node = nodes as Record<string, unknown>;
  if (node.type === Button.type && node.custom_id === customId) return node;
  return findButton(node.components, customId) ?? findButton(node.accessory, customId);
}

export class Driver {
  constructor(
    private readonly world: World,
    private readonly gateway: Gateway,
    private readonly messages: Messages,
    private readonly interactions: Interactions,
  ) {}

  slash(opts: SlashOptions): FakeInteraction {
    const { channelId, guildId } = this.#commandPlace(opts);
    const data = slashData(this.world, opts, { userId: opts.user.id, guildId });
    return this.#dispatch(this.#record(2, opts.user, channelId), { data });
  }

  /**
   * Apps › <name> on a message: a MESSAGE command (an APPLICATION_COMMAND interaction whose data
   * carries the target message, see messageCommandData), offered where the user sees the message
   * and may use commands.
   */
  messageCommand(opts: { user: FakeUser; message: FakeMessage; name: string }): FakeInteraction {
    const message = this.#message(opts.message.id);
    const dm = this.world.channel(message.channelId)?.kind === 'dm';
    if (dm && this.world.dmChannelFor(opts.user.id).id !== message.channelId) throw new Error(`fake Discord: ${opts.user.username} cannot see message ${message.id}`);
    if ((message.flags & FLAG_EPHEMERAL) !== 0 && message.interaction?.userId !== opts.user.id) {
      throw new Error(`fake Discord: ${opts.user.username} cannot see ephemeral message ${message.id}`);
    }
    const { channelId, guildId } = this.#commandPlace({ user: opts.user, channelId: message.channelId, dm });
    const data = messageCommandData(this.world, { user: opts.user, name: opts.name, messageId: message.id }, message, guildId);
    return this.#dispatch(this.#record(2, opts.user, channelId), { data });
  }

  /** Someone typing in an autocomplete option: Discord asks the bot for choices (see autocomplete.ts). */
  autocomplete(opts: AutocompleteOptions): FakeAutocomplete {
    const { channelId, guildId } = this.#commandPlace(opts);
    const data = autocompleteData(this.world, opts, guildId);
    return autocompleteHandle(this.#dispatch(this.#record(4, opts.user, channelId), { data }));
  }

  /** Where a command is used, checked as Discord checks it: the user sees the channel and may use commands there. */
  #commandPlace(opts: { user: FakeUser; channelId: string; dm?: boolean | undefined }): { channelId: string; guildId: string | undefined } {
    const channelId = opts.dm === true ? this.world.dmChannelFor(opts.user.id).id : this.#channel(opts.channelId);
    this.#mustSee(opts.user, channelId);
    const channel = this.world.channel(channelId);
    const guildId = channel ? this.world.guildIdOf(channel) : undefined;
    // Using slash commands in a guild channel takes Use Application Commands (Topics > Permissions).
    if (guildId !== undefined && !has(this.world.permissionsIn(opts.user.id, channelId), Permission.UseApplicationCommands)) {
      throw new Error(`fake Discord: ${opts.user.username} may not use commands in ${channelId}`);
    }
    return { channelId, guildId };
  }

  /**
   * A click on a button that is on the message. There is no forged variant: Discord checks a
   * component interaction's custom_id against the message it names (discord-api-docs #3207,
   * "Custom IDs are now validated by the API"; unofficial clients get 400 "Component validation
   * failed"), so even a modified client can only press buttons that are there.
   */
  clickButton(opts: { user: FakeUser; message: FakeMessage; customId: string }): FakeInteraction {
    const message = this.#message(opts.message.id);
    this.#mustSee(opts.user, message.channelId);
    // An ephemeral message exists only for the user whose interaction it answers.
    if ((message.flags & FLAG_EPHEMERAL) !== 0 && message.interaction?.userId !== opts.user.id) {
      throw new Error(`fake Discord: ${opts.user.username} cannot see ephemeral message ${message.id}`);
    }
    const button = findButton(message.components, opts.customId);
    if (!button) throw new Error(`fake Discord: message ${message.id} has no button "${opts.customId}"`);
    if (button.disabled === true) throw new Error(`fake Discord: button "${opts.customId}" is disabled`);
    const record = this.#record(3, opts.user, message.channelId, message.id);
    return this.#dispatch(record, {
      data: { custom_id: opts.customId, component_type: 2 },
      message: messagePayload(this.world, message),
    });
  }

  /**
   * A modal submission. Normally the bot must have shown this user a modal with this custom_id
   * (in this channel), and the submission mirrors its layout. `forge: true` simulates a modified
   * client instead: the modal submit interaction is built from what the client sends (a custom_id
   * and component values — Interactions > Modal Submit Data Structure), and Discord documents no
   * check of them against a modal it showed, so any custom_id and fields are submitted. The user
   * must still be able to see the channel: Discord fills in guild, member and permissions itself.
   */
  submitModal(opts: Parameters<FakeDiscord['submitModal']>[0]): FakeInteraction {
    const source = opts.message ? this.#message(opts.message.id) : undefined;
    const channelId = source?.channelId ?? this.#channel(opts.channelId);
    this.#mustSee(opts.user, channelId);
    let components: unknown[];
    if (opts.forge === true) {
      components = forgedModalComponents(opts.fields);
    } else {
      const shown = this.interactions.shownModal(opts.customId, opts.user.id);
      if (!shown) {
        throw new Error(
          `fake Discord: the bot never showed ${opts.user.username} a modal "${opts.customId}" (forge: true simulates a modified client)`,
        );
      }
      if (shown.openedBy.channelId !== channelId) {
        throw new Error(`fake Discord: modal "${opts.customId}" was shown in ${shown.openedBy.channelId}, not ${channelId}`);
      }
      components = modalComponents(shown.modal, opts.fields);
    }
    const record = this.#record(5, opts.user, channelId, source?.id);
    return this.#dispatch(record, {
      data: { custom_id: opts.customId, components },
      ...(source ? { message: messagePayload(this.world, source) } : {}),
    });
  }

  postMessage(opts: Parameters<FakeDiscord['postMessage']>[0]): FakeMessage {
    const channel = this.world.channel(this.#channel(opts.channelId));
    if (channel?.kind === 'dm') throw new Error('fake Discord: use dm() for direct messages');
    const needed = channel?.kind === 'thread' ? Permission.SendMessagesInThreads : Permission.SendMessages;
    if (!has(this.world.permissionsIn(opts.user.id, opts.channelId), needed)) {
      throw new Error(`fake Discord: ${opts.user.username} may not post in ${opts.channelId}`);
    }
    const bot = this.world.bot.id;
    const replied = opts.replyTo === undefined ? undefined : this.#message(opts.replyTo);
    // The client offers Reply only on messages of the channel one is in.
    if (replied !== undefined && replied.channelId !== opts.channelId) throw new Error(`fake Discord: message ${replied.id} is not in ${opts.channelId}`);
    // A reply pings its author unless the replier turns the ping off ("@ON" in the client); the
    // pinged author is then in `mentions` (Resources > Message > Allowed Mentions: replied_user).
    const pinged = replied !== undefined && opts.ping !== false && replied.authorId !== opts.user.id ? [replied.authorId] : [];
    const guildId = channel === undefined ? undefined : this.world.guildIdOf(channel);
    const message = this.messages.create({
      channelId: opts.channelId,
      authorId: opts.user.id,
      content: opts.mentionBot === true ? `<@${bot}> ${opts.content}` : opts.content,
      embeds: [],
      components: [],
      flags: 0,
      mentionIds: [...new Set([...(opts.mentionBot === true ? [bot] : []), ...pinged])],
      ...(opts.attachments === undefined ? {} : { attachments: opts.attachments.map(storedAttachment) }),
      // Message Types: REPLY is 19.
      ...(replied === undefined ? {} : { type: 19, reference: { messageId: replied.id, channelId: replied.channelId, ...(guildId === undefined ? {} : { guildId }) } }),
    });
    return this.messages.snapshot(message);
  }

  dm(opts: Parameters<FakeDiscord['dm']>[0]): FakeMessage {
    const channel = this.world.dmChannelFor(opts.user.id);
    const message = this.messages.create({
      channelId: channel.id,
      authorId: opts.user.id,
      content: opts.content,
      embeds: [],
      components: [],
      flags: 0,
      ...(opts.attachments === undefined ? {} : { attachments: opts.attachments.map(storedAttachment) }),
    });
    return this.messages.snapshot(message);
  }

  react(opts: { user: FakeUser; message: FakeMessage; emoji: string }): void {
    const message = this.#message(opts.message.id);
    if (!has(this.world.permissionsIn(opts.user.id, message.channelId), Permission.AddReactions)) {
      throw new Error(`fake Discord: ${opts.user.username} may not react in ${message.channelId}`);
    }
    this.messages.addReaction(message, opts.user.id, opts.emoji);
  }

  /** Interactions only come from channels the user can see: a member of the guild with View Channel. */
  #mustSee(user: FakeUser, channelId: string): void {
    if (!this.world.users.has(user.id)) throw new Error(`fake Discord: unknown user ${user.id}`);
    if (!has(this.world.permissionsIn(user.id, channelId), Permission.ViewChannel)) {
      throw new Error(`fake Discord: ${user.username} cannot see channel ${channelId} (not a member of its guild, or no View Channel)`);
    }
  }

  #record(type: InteractionRecord['type'], user: FakeUser, channelId: string, sourceMessageId?: string): InteractionRecord {
    const record: InteractionRecord = {
      id: this.world.ids.next(),
      token: interactionToken(),
      type,
      createdAt: Date.now(),
      channelId,
      userId: user.id,
      ...(sourceMessageId === undefined ? {} : { sourceMessageId }),
      callbacks: [],
      loading: false,
      followUpIds: [],
      ephemeral: false,
      listeners: new Set(),
    };
    this.interactions.add(record);
    return record;
  }

  #dispatch(record: InteractionRecord, extra: Record<string, unknown>): FakeInteraction {
    const payload = { ...basePayload(this.world, record), ...extra };
    // Interactions reach the bot whatever its intents.
    this.gateway.broadcast('INTERACTION_CREATE', () => payload);
    return this.interactions.handle(record);
  }

  #channel(channelId: string): string {
    if (!this.world.channel(channelId)) throw new Error(`fake Discord: unknown channel ${channelId}`);
    return channelId;
  }

  #message(id: string): StoredMessage {
    const message = this.world.messages.get(id);
    if (!message || message.deleted) throw new Error(`fake Discord: message ${id} does not exist (or was deleted)`);
    return message;
  }
}
