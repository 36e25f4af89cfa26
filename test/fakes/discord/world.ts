/**
 * The fake's state: two guilds (see cast.ts) with their roles, text channels and members, plus
 * every message, thread, DM channel and registered command. Routes and user actions mutate it.
 */
import type { Locale } from 'discord.js';
import { buildCast, type Cast } from './cast.js';
import { CdnFiles } from './cdn.js';
import { applyOverwrites, basePermissions, EVERYONE_PERMISSIONS, Permission, type Overwrite } from './permissions.js';
import { Snowflakes } from './snowflake.js';
import type { FakeAttachment } from './types.js';

export interface StoredUser {
  id: string;
  username: string;
  globalName: string | null;
  bot: boolean;
}

export interface StoredRole {
  id: string;
  guildId: string;
  name: string;
  permissions: bigint;
  position: number;
  managedByBot: boolean;
}

export interface StoredMember {
  userId: string;
  roleIds: string[];
  joinedAt: number;
}

export interface StoredGuild {
  id: string;
  name: string;
  ownerId: string;
  /** The guild's preferred_locale; interactions in it carry it as `guild_locale`. */
  locale: Locale;
  systemChannelId: string | null;
  /** User id → membership; a user may be a member of several guilds, with different roles. */
  members: Map<string, StoredMember>;
}

export type StoredChannel =
  | {
      kind: 'text';
      id: string;
      guildId: string;
      name: string;
      position: number;
      topic: string | null;
      overwrites: Overwrite[];
    }
  | {
      kind: 'thread';
      id: string;
      parentId: string;
      name: string;
      type: 11 | 12;
      ownerId: string;
      starterMessageId?: string;
      createdAt: number;
      autoArchiveMinutes: number;
    }
  | { kind: 'dm'; id: string; recipientId: string };

export interface StoredMessage {
  id: string;
  channelId: string;
  authorId: string;
  content: string;
  embeds: unknown[];
  components: unknown[];
  attachments: FakeAttachment[];
  flags: number;
  /** 0 default, 19 reply, 20 chat input command response. */
  type: number;
  mentionIds: string[];
  /** emoji → ids of the users who reacted with it, in insertion order. */
  reactions: Map<string, Set<string>>;
  createdAt: number;
  editedAt?: number;
  deleted: boolean;
  /** The interaction this message answers; becomes `interaction_metadata`. */
  interaction?: { id: string; type: number; userId: string };
  /** Set on interaction responses: Discord sends them through the application's webhook. */
  webhookId?: string;
  /** The thread started from this message, if any. */
  threadId?: string;
  /** For a reply (type 19): the message replied to (Resources > Message > Message Reference Structure). */
  reference?: { messageId: string; channelId: string; guildId?: string };
  /** The nonce it was created with (echoed in the Message object and MESSAGE_CREATE). */
  nonce?: string | number;
}

/** Every guild, channel, message and command the fake knows, with the built-in cast. */
export class World {
  readonly ids = new Snowflakes();
  /** The main guild (see cast.ts); the other guild is `cast.otherGuild`. */
  readonly guildId = this.ids.next();
  readonly applicationId = this.ids.next();
  readonly bot: StoredUser = { id: this.applicationId, username: 'Cairn', globalName: null, bot: true };
  readonly users = new Map<string, StoredUser>([[this.bot.id, this.bot]]);
  readonly guilds = new Map<string, StoredGuild>();
  /** Roles of every guild, by id (each names its guild). */
  readonly roles = new Map<string, StoredRole>();
  readonly channels = new Map<string, StoredChannel>();
  readonly messages = new Map<string, StoredMessage>();
  /** Channel id → message ids in creation order. */
  readonly channelOrder = new Map<string, string[]>();
  /** Guild id ('' for global) → the registered command objects (bodies plus ids). */
  readonly commands = new Map<string, Record<string, unknown>[]>();
  /** Guild id ('' for global) → the command bodies exactly as the last PUT sent them. */
  readonly commandBodies = new Map<string, unknown[]>();
  readonly cast: Cast = buildCast(this);
  /** Every attachment's bytes, served from the fake CDN's own origin (see cdn.ts). */
  readonly cdn = new CdnFiles();
  /** Owner of both guilds and of the application. */
  readonly ownerId = this.cast.ownerId;

  channel(id: string): StoredChannel | undefined {
    return this.channels.get(id);
  }

  guild(id: string): StoredGuild | undefined {
    return this.guilds.get(id);
  }

  member(guildId: string, userId: string): StoredMember | undefined {
    return this.guilds.get(guildId)?.members.get(userId);
  }

  rolesOf(guildId: string): StoredRole[] {
    return [...this.roles.values()].filter((r) => r.guildId === guildId);
  }

  /** The text channel whose permissions apply (a thread's parent), or undefined for DMs. */
  permissionChannel(channel: StoredChannel): Extract<StoredChannel, { kind: 'text' }> | undefined {
    if (channel.kind === 'text') return channel;
    if (channel.kind === 'dm') return undefined;
    const parent = this.channels.get(channel.parentId);
    return parent?.kind === 'text' ? parent : undefined;
  }

  /** The guild a channel or thread belongs to (a thread's is its parent's); undefined for DMs. */
  guildIdOf(channel: StoredChannel): string | undefined {
    return this.permissionChannel(channel)?.guildId;
  }

  /** Channels (text and threads) of one guild, in creation order. */
  channelsOf(guildId: string): Exclude<StoredChannel, { kind: 'dm' }>[] {
    return [...this.channels.values()].filter(
      (c): c is Exclude<StoredChannel, { kind: 'dm' }> => c.kind !== 'dm' && this.guildIdOf(c) === guildId,
    );
  }

  /** A member's guild-wide permissions (roles only, no channel overwrites); 0 for non-members. */
  guildPermissions(guildId: string, userId: string): bigint {
    const guild = this.guilds.get(guildId);
    const member = guild?.members.get(userId);
    if (!guild || !member) return 0n;
    const everyone = this.roles.get(guild.id)?.permissions ?? 0n;
    return basePermissions(
      { userId, roleIds: member.roleIds, isOwner: userId === guild.ownerId },
      everyone,
      (roleId) => {
        const role = this.roles.get(roleId);
        return role?.guildId === guild.id ? role.permissions : 0n;
      },
    );
  }

  /** A user's permissions in a channel; DMs grant the basics to their two participants. */
  permissionsIn(userId: string, channelId: string): bigint {
    const channel = this.channels.get(channelId);
    if (!channel) return 0n;
    if (channel.kind === 'dm') {
      const inDm = userId === this.bot.id || userId === channel.recipientId;
      return inDm ? EVERYONE_PERMISSIONS & ~(Permission.CreatePublicThreads | Permission.SendMessagesInThreads) : 0n;
    }
    const target = this.permissionChannel(channel);
    const guild = target && this.guilds.get(target.guildId);
    const member = guild?.members.get(userId);
    if (!target || !guild || !member) return 0n;
    const subject = { userId, roleIds: member.roleIds, isOwner: userId === guild.ownerId };
    return applyOverwrites(this.guildPermissions(guild.id, userId), subject, guild.id, target.overwrites);
  }

  messagesIn(channelId: string): StoredMessage[] {
    const ids = this.channelOrder.get(channelId) ?? [];
    return ids.flatMap((id) => {
      const message = this.messages.get(id);
      return message ? [message] : [];
    });
  }

  addMessage(message: StoredMessage): void {
    this.messages.set(message.id, message);
    const order = this.channelOrder.get(message.channelId) ?? [];
    order.push(message.id);
    this.channelOrder.set(message.channelId, order);
  }

  dmChannelFor(userId: string): Extract<StoredChannel, { kind: 'dm' }> {
    for (const channel of this.channels.values()) {
      if (channel.kind === 'dm' && channel.recipientId === userId) return channel;
    }
    const channel = { kind: 'dm' as const, id: this.ids.next(), recipientId: userId };
    this.channels.set(channel.id, channel);
    return channel;
  }

  threads(): Extract<StoredChannel, { kind: 'thread' }>[] {
    return [...this.channels.values()].filter((c) => c.kind === 'thread');
  }

  lastMessageId(channelId: string): string | null {
    return this.channelOrder.get(channelId)?.at(-1) ?? null;
  }
}
