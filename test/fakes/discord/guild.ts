/**
 * A guild as GUILD_CREATE describes it: roles (with @everyone and the bot's managed role),
 * text channels with their permission overwrites, threads, and every member including the bot.
 */
import {
  GuildDefaultMessageNotifications,
  GuildExplicitContentFilter,
  GuildMFALevel,
  GuildNSFWLevel,
  GuildPremiumTier,
  GuildVerificationLevel,
  type APIRole,
  type GatewayGuildCreateDispatchData,
  type GuildSystemChannelFlags,
  type RoleFlags,
} from 'discord.js';
import { bits, channelPayload, memberPayload } from './payloads.js';
import { iso } from './snowflake.js';
import type { World } from './world.js';

function rolePayload(world: World, roleId: string): APIRole {
  const role = world.roles.get(roleId);
  if (!role) throw new Error(`fake Discord: unknown role ${roleId}`);
  return {
    id: role.id,
    name: role.name,
    // Deprecated for requests, but the API still returns it (and the type requires it).
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position: role.position,
    permissions: role.permissions.toString(),
    managed: role.managedByBot,
    mentionable: false,
    flags: bits<RoleFlags>(0),
    ...(role.managedByBot ? { tags: { bot_id: world.bot.id } } : {}),
  };
}

/**
 * GUILD_CREATE for one guild (Gateway Events > Guild Create): the guild object plus the extra
 * fields sent to a bot on connect — its channels, threads and members, with the bot's joined_at.
 */
export function guildCreatePayload(world: World, guildId: string): GatewayGuildCreateDispatchData {
  const guild = world.guild(guildId);
  if (!guild) throw new Error(`fake Discord: unknown guild ${guildId}`);
  const guildChannels: GatewayGuildCreateDispatchData['channels'] = [];
  const threads: GatewayGuildCreateDispatchData['threads'] = [];
  for (const channel of world.channelsOf(guild.id)) {
    if (channel.kind === 'text') guildChannels.push(channelPayload(world, channel) as (typeof guildChannels)[number]);
    if (channel.kind === 'thread') threads.push(channelPayload(world, channel) as (typeof threads)[number]);
  }
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    owner_id: guild.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: GuildVerificationLevel.None,
    default_message_notifications: GuildDefaultMessageNotifications.OnlyMentions,
    explicit_content_filter: GuildExplicitContentFilter.Disabled,
    roles: world.rolesOf(guild.id).map((role) => rolePayload(world, role.id)),
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: GuildMFALevel.None,
    application_id: null,
    system_channel_id: guild.systemChannelId,
    system_channel_flags: bits<GuildSystemChannelFlags>(0),
    rules_channel_id: null,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: GuildPremiumTier.None,
    premium_subscription_count: 0,
    preferred_locale: guild.locale,
    public_updates_channel_id: null,
    nsfw_level: GuildNSFWLevel.Default,
    premium_progress_bar_enabled: false,
    hub_type: null,
    safety_alerts_channel_id: null,
    incidents_data: null,
    max_members: 500_000,
    joined_at: iso(guild.members.get(world.bot.id)?.joinedAt ?? Date.now()),
    large: false,
    unavailable: false,
    member_count: guild.members.size,
    voice_states: [],
    members: [...guild.members.keys()].map((id) => memberPayload(world, guild.id, id)),
    channels: guildChannels,
    threads,
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}
