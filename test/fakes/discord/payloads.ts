/**
 * Turns the fake's state into Discord API objects. Typed with discord-api-types (re-exported by
 * discord.js) so a missing required field is a compile error, not a discord.js crash at runtime.
 */
import {
  ChannelType,
  MessageReferenceType,
  ThreadAutoArchiveDuration,
  type APIAttachment,
  type APIChannel,
  type APIGuildMember,
  type APIMessage,
  type APIUser,
  type ChannelFlags,
  type GuildMemberFlags,
  type MessageFlags,
  type MessageType,
  type UserFlags,
} from 'discord.js';
import { iso } from './snowflake.js';
import type { StoredChannel, StoredMessage, StoredUser, World } from './world.js';

/**
 * Discord bitfields are any combination of an enum's flags, 0 included, which the flag enums do
 * not list; this is the one place a plain number becomes such a bitfield.
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- T names the bitfield at the call site
export function bits<T extends number>(value: number): T {
  return value as T;
}

export function userPayload(user: StoredUser): APIUser {
  return {
    id: user.id,
    username: user.username,
    discriminator: '0',
    global_name: user.globalName,
    avatar: null,
    ...(user.bot ? { bot: true } : {}),
    public_flags: bits<UserFlags>(0),
  };
}

/** A member of one guild (Resources > Guild > Guild Member Object): roles are that guild's. */
export function memberPayload(world: World, guildId: string, userId: string): APIGuildMember {
  const member = world.member(guildId, userId);
  const user = world.users.get(userId);
  if (!member || !user) throw new Error(`fake Discord: ${userId} is not a member of guild ${guildId}`);
  return {
    user: userPayload(user),
    nick: null,
    avatar: null,
    banner: null,
    roles: member.roleIds,
    joined_at: iso(member.joinedAt),
    premium_since: null,
    deaf: false,
    mute: false,
    flags: bits<GuildMemberFlags>(0),
    pending: false,
    communication_disabled_until: null,
  };
}

function channelTypeOf(channel: StoredChannel): ChannelType {
  if (channel.kind === 'dm') return ChannelType.DM;
  if (channel.kind === 'text') return ChannelType.GuildText;
  return channel.type === 12 ? ChannelType.PrivateThread : ChannelType.PublicThread;
}

/** A channel object; `permissionsFor` adds the resolved `permissions` interactions carry. */
export function channelPayload(
  world: World,
  channel: StoredChannel,
  permissionsFor?: string,
): APIChannel & { permissions?: string } {
  const permissions =
    permissionsFor === undefined ? {} : { permissions: world.permissionsIn(permissionsFor, channel.id).toString() };
  const last_message_id = world.lastMessageId(channel.id);
  if (channel.kind === 'dm') {
    const recipient = world.users.get(channel.recipientId);
    return {
      id: channel.id,
      type: ChannelType.DM,
      name: null,
      recipients: recipient ? [userPayload(recipient)] : [],
      last_message_id,
      flags: bits<ChannelFlags>(0),
      ...permissions,
    };
  }
  // Guild channels and threads carry their guild's id (Resources > Channel > Channel Object).
  const guild_id = world.guildIdOf(channel) ?? world.guildId;
  if (channel.kind === 'thread') {
    const count = world.messagesIn(channel.id).length;
    return {
      id: channel.id,
      type: channel.type === 12 ? ChannelType.PrivateThread : ChannelType.PublicThread,
      guild_id,
      parent_id: channel.parentId,
      owner_id: channel.ownerId,
      name: channel.name,
      last_message_id,
      message_count: count,
      total_message_sent: count,
      member_count: 1,
      rate_limit_per_user: 0,
      flags: bits<ChannelFlags>(0),
      applied_tags: [],
      thread_metadata: {
        archived: false,
        auto_archive_duration: bits<ThreadAutoArchiveDuration>(channel.autoArchiveMinutes),
        archive_timestamp: iso(channel.createdAt),
        locked: false,
        create_timestamp: iso(channel.createdAt),
      },
      ...permissions,
    };
  }
  return {
    id: channel.id,
    type: ChannelType.GuildText,
    guild_id,
    name: channel.name,
    position: channel.position,
    parent_id: null,
    topic: channel.topic,
    nsfw: false,
    last_message_id,
    rate_limit_per_user: 0,
    default_auto_archive_duration: ThreadAutoArchiveDuration.OneDay,
    flags: bits<ChannelFlags>(0),
    permission_overwrites: channel.overwrites.map((o) => ({
      id: o.id,
      type: o.type,
      allow: o.allow.toString(),
      deny: o.deny.toString(),
    })),
    ...permissions,
  };
}

function attachmentPayload(message: StoredMessage): APIAttachment[] {
  return message.attachments.map((a) => ({
    id: a.id,
    filename: a.filename,
    size: a.size,
    // The signed URL on the fake CDN (cdn.ts); a crafted attachment keeps the URL it was given.
    url: a.url ?? `https://cdn.discordapp.com/attachments/${message.channelId}/${a.id}/${a.filename}`,
    proxy_url: a.url ?? `https://media.discordapp.net/attachments/${message.channelId}/${a.id}/${a.filename}`,
    ...(a.contentType === undefined ? {} : { content_type: a.contentType }),
    ...(a.width === undefined ? {} : { width: a.width }),
    ...(a.height === undefined ? {} : { height: a.height }),
  }));
}

export interface MessagePayloadOptions {
  /** Gateway events carry guild_id and the author's partial member. */
  gateway?: boolean;
  /** Strip what the MessageContent intent guards (content, embeds, attachments, components). */
  redact?: boolean;
  /** The same for a reply's `referenced_message`. */
  redactReferenced?: boolean;
}

export function messagePayload(
  world: World,
  message: StoredMessage,
  options: MessagePayloadOptions = {},
): APIMessage & { guild_id?: string; member?: Omit<APIGuildMember, 'user'>; channel_type?: ChannelType } {
  const author = world.users.get(message.authorId);
  if (!author) throw new Error(`fake Discord: unknown author ${message.authorId}`);
  const channel = world.channel(message.channelId);
  const guildId = channel ? world.guildIdOf(channel) : undefined;
  const thread = message.threadId === undefined ? undefined : world.channel(message.threadId);
  const redact = options.redact === true;
  const reactions = [...message.reactions].map(([emoji, users]) => ({
    emoji: emojiPayload(emoji),
    count: users.size,
    count_details: { burst: 0, normal: users.size },
    me: users.has(world.bot.id),
    me_burst: false,
    burst_colors: [],
  }));
  const interactionUser = message.interaction && world.users.get(message.interaction.userId);
  const interaction =
    message.interaction && interactionUser
      ? {
          id: message.interaction.id,
          type: message.interaction.type,
          user: userPayload(interactionUser),
          // The guild's id for a guild install, "0" in the bot's DM (Interactions > Authorizing Integration Owners).
          authorizing_integration_owners: { '0': guildId ?? '0' },
        }
      : undefined;
  let member: Omit<APIGuildMember, 'user'> | undefined;
  // Gateway MESSAGE_CREATE/UPDATE carry the author's partial member of the message's guild.
  if (options.gateway && guildId !== undefined && world.member(guildId, author.id)) {
    const { user: _user, ...rest } = memberPayload(world, guildId, author.id);
    member = rest;
  }
  return {
    id: message.id,
    channel_id: message.channelId,
    author: userPayload(author),
    content: redact ? '' : message.content,
    timestamp: iso(message.createdAt),
    edited_timestamp: message.editedAt === undefined ? null : iso(message.editedAt),
    tts: false,
    mention_everyone: false,
    mentions: message.mentionIds.flatMap((id) => {
      const user = world.users.get(id);
      return user ? [userPayload(user)] : [];
    }),
    mention_roles: [],
    attachments: redact ? [] : attachmentPayload(message),
    embeds: redact ? [] : (message.embeds as APIMessage['embeds']),
    components: redact ? [] : (message.components as APIMessage['components']),
    pinned: false,
    type: bits<MessageType>(message.type),
    flags: bits<MessageFlags>(message.flags),
    ...(reactions.length > 0 ? { reactions } : {}),
    ...(message.nonce === undefined ? {} : { nonce: message.nonce }),
    ...(message.webhookId === undefined ? {} : { webhook_id: message.webhookId, application_id: world.applicationId }),
    ...(interaction ? { interaction_metadata: interaction } : {}),
    ...(thread ? { thread: channelPayload(world, thread) } : {}),
    ...(options.gateway && guildId !== undefined ? { guild_id: guildId } : {}),
    // Gateway messages name their channel's type; discord.js needs it to build an uncached DM channel.
    ...(options.gateway && channel ? { channel_type: channelTypeOf(channel) } : {}),
    ...(member ? { member } : {}),
    ...referencePayload(world, message, options),
  };
}

/**
 * A reply's `message_reference` (type 0, the default: a reply) and `referenced_message`, the
 * message replied to — null once it was deleted (Resources > Message > Message Object: "If the
 * field exists but is null, the referenced message was deleted").
 */
function referencePayload(world: World, message: StoredMessage, options: MessagePayloadOptions): Partial<APIMessage> {
  const reference = message.reference;
  if (reference === undefined) return {};
  const referenced = world.messages.get(reference.messageId);
  return {
    message_reference: {
      type: MessageReferenceType.Default,
      message_id: reference.messageId,
      channel_id: reference.channelId,
      ...(reference.guildId === undefined ? {} : { guild_id: reference.guildId }),
    },
    referenced_message:
      referenced === undefined || referenced.deleted
        ? null
        : messagePayload(world, { ...referenced, reference: undefined }, { redact: options.redactReferenced === true }),
  };
}

/** `👍` or a custom emoji written `name:id` / `<:name:id>` / `<a:name:id>`. */
export function emojiPayload(emoji: string): { id: string | null; name: string; animated?: boolean } {
  const custom = /^<?(a)?:?([\w~]+):(\d{17,20})>?$/.exec(emoji);
  if (custom?.[2] !== undefined && custom[3] !== undefined) {
    return { id: custom[3], name: custom[2], ...(custom[1] ? { animated: true } : {}) };
  }
  return { id: null, name: emoji };
}
