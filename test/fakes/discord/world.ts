/**
 * The fake's state: one guild with three text channels, three members and the bot, plus every
 * message, thread, DM channel and registered command. Routes and user actions mutate it.
 */
import {
  ADMIN_ROLE_PERMISSIONS,
  applyOverwrites,
  basePermissions,
  BOT_ROLE_PERMISSIONS,
  EVERYONE_PERMISSIONS,
  Permission,
  type Overwrite,
} from './permissions.js';
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

export type StoredChannel =
  | { kind: 'text'; id: string; name: string; position: number; topic: string | null; overwrites: Overwrite[] }
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
}

/** Roles and ids of the built-in cast, fixed at construction. */
export class World {
  readonly ids = new Snowflakes();
  readonly guildId = this.ids.next();
  readonly applicationId = this.ids.next();
  readonly bot: StoredUser = { id: this.applicationId, username: 'Cairn', globalName: null, bot: true };
  readonly users = new Map<string, StoredUser>();
  readonly roles = new Map<string, StoredRole>();
  readonly members = new Map<string, StoredMember>();
  readonly channels = new Map<string, StoredChannel>();
  readonly messages = new Map<string, StoredMessage>();
  /** Channel id → message ids in creation order. */
  readonly channelOrder = new Map<string, string[]>();
  /** Guild id ('' for global) → the registered command objects (bodies plus ids). */
  readonly commands = new Map<string, Record<string, unknown>[]>();
  /** Guild id ('' for global) → the command bodies exactly as the last PUT sent them. */
  readonly commandBodies = new Map<string, unknown[]>();
  readonly ownerId: string;
  readonly cast: {
    alice: StoredUser;
    bob: StoredUser;
    carol: StoredUser;
    adminRole: string;
    memberRole: string;
    botRole: string;
    general: string;
    noThreads: string;
    readOnly: string;
  };

  constructor() {
    const user = (username: string, globalName: string): StoredUser => {
      const u = { id: this.ids.next(), username, globalName, bot: false };
      this.users.set(u.id, u);
      return u;
    };
    this.users.set(this.bot.id, this.bot);
    const alice = user('alice', 'Alice');
    const bob = user('bob', 'Bob');
    const carol = user('carol', 'Carol');
    // A guild owner outside the cast, so nobody the tests drive has owner superpowers.
    this.ownerId = user('owner', 'Owner').id;

    const role = (name: string, permissions: bigint, position: number, managedByBot = false): string => {
      const id = name === '@everyone' ? this.guildId : this.ids.next();
      this.roles.set(id, { id, name, permissions, position, managedByBot });
      return id;
    };
    role('@everyone', EVERYONE_PERMISSIONS, 0);
    const memberRole = role('member', 0n, 1);
    const adminRole = role('admin', ADMIN_ROLE_PERMISSIONS, 2);
    const botRole = role('Cairn', BOT_ROLE_PERMISSIONS, 3, true);

    const join = (userId: string, roleIds: string[]): void => {
      this.members.set(userId, { userId, roleIds, joinedAt: Date.now() });
    };
    join(this.ownerId, [memberRole]);
    join(alice.id, [memberRole]);
    join(bob.id, [memberRole]);
    join(carol.id, [memberRole, adminRole]);
    join(this.bot.id, [botRole]);

    const text = (name: string, position: number, overwrites: Overwrite[] = []): string => {
      const id = this.ids.next();
      this.channels.set(id, { kind: 'text', id, name, position, topic: null, overwrites });
      return id;
    };
    const denyBot = (deny: bigint): Overwrite[] => [{ id: this.bot.id, type: 1, allow: 0n, deny }];
    const general = text('general', 0);
    const noThreads = text('no-threads', 1, denyBot(Permission.CreatePublicThreads | Permission.CreatePrivateThreads));
    const readOnly = text('read-only', 2, denyBot(Permission.SendMessages));
    this.cast = { alice, bob, carol, adminRole, memberRole, botRole, general, noThreads, readOnly };
  }

  channel(id: string): StoredChannel | undefined {
    return this.channels.get(id);
  }

  /** The text channel whose permissions apply (a thread's parent), or undefined for DMs. */
  permissionChannel(channel: StoredChannel): Extract<StoredChannel, { kind: 'text' }> | undefined {
    if (channel.kind === 'text') return channel;
    if (channel.kind === 'dm') return undefined;
    const parent = this.channels.get(channel.parentId);
    return parent?.kind === 'text' ? parent : undefined;
  }

  guildIdOf(channel: StoredChannel): string | undefined {
    return channel.kind === 'dm' ? undefined : this.guildId;
  }

  guildPermissions(userId: string): bigint {
    const member = this.members.get(userId);
    if (!member) return 0n;
    const everyone = this.roles.get(this.guildId)?.permissions ?? 0n;
    return basePermissions(
      { userId, roleIds: member.roleIds, isOwner: userId === this.ownerId },
      everyone,
      (roleId) => this.roles.get(roleId)?.permissions ?? 0n,
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
    const member = this.members.get(userId);
    if (!target || !member) return 0n;
    const subject = { userId, roleIds: member.roleIds, isOwner: userId === this.ownerId };
    return applyOverwrites(this.guildPermissions(userId), subject, this.guildId, target.overwrites);
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
