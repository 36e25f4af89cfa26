/**
 * Message mutations shared by REST routes and simulated users, each followed by the gateway
 * event Discord would send (MESSAGE_CREATE/UPDATE/DELETE, reactions), filtered by intents and
 * with content redacted where the MessageContent intent would hide it.
 */
import { GatewayIntentBits as I } from 'discord.js';
import type { Gateway } from './gateway.js';
import type { UploadedFile } from './http.js';
import { emojiPayload, memberPayload, messagePayload } from './payloads.js';
import { FLAG_EPHEMERAL, type CheckedMessage } from './rules.js';
import type { FakeAttachment, FakeMessage } from './types.js';
import { snowflakeTime } from './snowflake.js';
import type { StoredMessage, World } from './world.js';

export interface NewMessage extends CheckedMessage {
  channelId: string;
  authorId: string;
  files?: UploadedFile[];
  /** Attachments a user's message carries (uploaded to the CDN before, or crafted by a test). */
  attachments?: FakeAttachment[];
  mentionIds?: string[];
  type?: number;
  interaction?: StoredMessage['interaction'];
  webhookId?: string;
  reference?: StoredMessage['reference'];
  nonce?: StoredMessage['nonce'];
}

export class Messages {
  constructor(
    private readonly world: World,
    private readonly gateway: Gateway,
  ) {}

  create(input: NewMessage): StoredMessage {
    const id = this.world.ids.next();
    const message: StoredMessage = {
      id,
      channelId: input.channelId,
      authorId: input.authorId,
      content: input.content,
      embeds: input.embeds,
      components: input.components,
      attachments: [...(input.attachments ?? []), ...this.#attachments(input.channelId, input.files ?? [])],
      flags: input.flags,
      type: input.type ?? 0,
      mentionIds: input.mentionIds ?? [],
      reactions: new Map(),
      // As on Discord, a message's timestamp is its id's: discord.js reads createdTimestamp from the
      // id, and a second clock reading here differed by a millisecond now and then.
      createdAt: snowflakeTime(id),
      deleted: false,
      ...(input.interaction ? { interaction: input.interaction } : {}),
      ...(input.webhookId === undefined ? {} : { webhookId: input.webhookId }),
      ...(input.reference === undefined ? {} : { reference: input.reference }),
      ...(input.nonce === undefined ? {} : { nonce: input.nonce }),
    };
    this.world.addMessage(message);
    this.#dispatchMessage('MESSAGE_CREATE', message);
    return message;
  }

  /** Applies a validated edit; `keepAttachmentIds` undefined keeps all current attachments. */
  edit(message: StoredMessage, edit: CheckedMessage, files: UploadedFile[], keepAttachmentIds?: string[]): void {
    message.content = edit.content;
    message.embeds = edit.embeds;
    message.components = edit.components;
    message.flags = edit.flags;
    const kept = keepAttachmentIds
      ? message.attachments.filter((a) => keepAttachmentIds.includes(a.id))
      : message.attachments;
    message.attachments = [...kept, ...this.#attachments(message.channelId, files)];
    message.editedAt = Date.now();
    this.#dispatchMessage('MESSAGE_UPDATE', message);
  }

  delete(message: StoredMessage): void {
    message.deleted = true;
    if ((message.flags & FLAG_EPHEMERAL) !== 0) return;
    const guildId = this.#guildId(message);
    this.gateway.broadcast('MESSAGE_DELETE', (intents) =>
      (intents & this.#messageIntent(message)) === 0
        ? undefined
        : { id: message.id, channel_id: message.channelId, ...(guildId === undefined ? {} : { guild_id: guildId }) },
    );
  }

  /** Returns false when the user had already reacted with that emoji (Discord: a no-op). */
  addReaction(message: StoredMessage, userId: string, emoji: string): boolean {
    const users = message.reactions.get(emoji) ?? new Set<string>();
    if (users.has(userId)) return false;
    users.add(userId);
    message.reactions.set(emoji, users);
    this.#dispatchReaction('MESSAGE_REACTION_ADD', message, userId, emoji);
    return true;
  }

  removeReaction(message: StoredMessage, userId: string, emoji: string): void {
    const users = message.reactions.get(emoji);
    if (!users?.delete(userId)) return;
    if (users.size === 0) message.reactions.delete(emoji);
    this.#dispatchReaction('MESSAGE_REACTION_REMOVE', message, userId, emoji);
  }

  snapshot(message: StoredMessage): FakeMessage {
    const guildId = this.#guildId(message);
    const botReactions = [...message.reactions].filter(([, users]) => users.has(this.world.bot.id)).map(([e]) => e);
    return {
      id: message.id,
      channelId: message.channelId,
      ...(guildId === undefined ? {} : { guildId }),
      authorId: message.authorId,
      content: message.content,
      embeds: structuredClone(message.embeds),
      components: structuredClone(message.components),
      attachments: message.attachments.map((a) => ({ ...a })),
      flags: message.flags,
      reactions: botReactions,
      ...(message.interaction ? { interactionId: message.interaction.id } : {}),
      ...(message.reference === undefined ? {} : { replyTo: message.reference.messageId }),
      createdAt: message.createdAt,
      ...(message.editedAt === undefined ? {} : { editedAt: message.editedAt }),
      ...(message.deleted ? { deleted: true } : {}),
    };
  }

  /** Files the bot uploaded: stored on the CDN, so their signed URLs serve the bytes that reached Discord. */
  #attachments(channelId: string, files: UploadedFile[]): FakeAttachment[] {
    return files.map((file) => {
      const id = this.world.ids.next();
      const contentType = file.contentType === undefined ? {} : { contentType: file.contentType };
      const stored = this.world.cdn.put({ channelId, id, filename: file.filename, bytes: file.data ?? Buffer.alloc(0), ...contentType });
      return {
        id,
        filename: file.filename,
        size: file.size,
        ...contentType,
        ...(file.data === undefined ? {} : { data: file.data }),
        url: stored.url,
        ...(stored.width === undefined ? {} : { width: stored.width }),
        ...(stored.height === undefined ? {} : { height: stored.height }),
      };
    });
  }

  #guildId(message: StoredMessage): string | undefined {
    const channel = this.world.channel(message.channelId);
    return channel ? this.world.guildIdOf(channel) : undefined;
  }

  #messageIntent(message: StoredMessage): number {
    return this.#guildId(message) === undefined ? I.DirectMessages : I.GuildMessages;
  }

  /**
   * Bots see content of their own messages, DMs, and messages that mention them — a reply that
   * pings the bot mentions it (Gateway > Privileged Intents > Message Content Intent).
   */
  visibleWithoutIntent(message: StoredMessage): boolean {
    const bot = this.world.bot.id;
    return message.authorId === bot || message.mentionIds.includes(bot) || this.#guildId(message) === undefined;
  }

  #dispatchMessage(event: 'MESSAGE_CREATE' | 'MESSAGE_UPDATE', message: StoredMessage): void {
    // Ephemeral messages exist only for the user who triggered the interaction.
    if ((message.flags & FLAG_EPHEMERAL) !== 0) return;
    this.gateway.broadcast(event, (intents) => {
      if ((intents & this.#messageIntent(message)) === 0) return undefined;
      const hidden = (intents & I.MessageContent) === 0;
      // A reply carries the message it answers, whose content follows the same rule on its own.
      const referenced = message.reference === undefined ? undefined : this.world.messages.get(message.reference.messageId);
      return messagePayload(this.world, message, {
        gateway: true,
        redact: hidden && !this.visibleWithoutIntent(message),
        redactReferenced: hidden && referenced !== undefined && !this.visibleWithoutIntent(referenced),
      });
    });
  }

  #dispatchReaction(event: string, message: StoredMessage, userId: string, emoji: string): void {
    const guildId = this.#guildId(message);
    const intent = guildId === undefined ? I.DirectMessageReactions : I.GuildMessageReactions;
    // Ids only, no message object: discord.js needs Partials for messages it has not cached.
    // In a guild, ADD also carries guild_id and the reactor's member of that guild (Gateway Events >
    // Message Reaction Add); REMOVE carries guild_id only.
    this.gateway.broadcast(event, (intents) =>
      (intents & intent) === 0
        ? undefined
        : {
            user_id: userId,
            channel_id: message.channelId,
            message_id: message.id,
            emoji: emojiPayload(emoji),
            burst: false,
            type: 0,
            ...(guildId === undefined
              ? {}
              : {
                  guild_id: guildId,
                  ...(event === 'MESSAGE_REACTION_ADD'
                    ? { member: memberPayload(this.world, guildId, userId), message_author_id: message.authorId }
                    : {}),
                }),
          },
    );
  }
}
