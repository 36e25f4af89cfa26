/**
 * Discord's permission algorithm (base from roles, then channel overwrites: @everyone, roles,
 * member), enough to decide what the bot may do and what to put in interaction payloads.
 */
import { PermissionFlagsBits as P } from 'discord.js';

export const ALL_PERMISSIONS = Object.values(P).reduce((all, bit) => all | bit, 0n);

/** What @everyone may do in the fake guild: an ordinary community server. */
export const EVERYONE_PERMISSIONS =
  P.ViewChannel |
  P.SendMessages |
  P.SendMessagesInThreads |
  P.CreatePublicThreads |
  P.EmbedLinks |
  P.AttachFiles |
  P.AddReactions |
  P.ReadMessageHistory |
  P.UseApplicationCommands |
  P.UseExternalEmojis;

/** The bot's managed role: what an invite with sensible scopes grants. */
export const BOT_ROLE_PERMISSIONS = EVERYONE_PERMISSIONS | P.ManageThreads | P.CreatePrivateThreads;

export const ADMIN_ROLE_PERMISSIONS = P.ManageGuild | P.ManageMessages | P.ManageChannels;

export interface Overwrite {
  id: string;
  /** 0 role, 1 member. */
  type: 0 | 1;
  allow: bigint;
  deny: bigint;
}

export interface PermissionSubject {
  userId: string;
  roleIds: readonly string[];
  isOwner: boolean;
}

export function basePermissions(
  subject: PermissionSubject,
  everyone: bigint,
  rolePermissions: (roleId: string) => bigint,
): bigint {
  if (subject.isOwner) return ALL_PERMISSIONS;
  let permissions = everyone;
  for (const roleId of subject.roleIds) permissions |= rolePermissions(roleId);
  return (permissions & P.Administrator) !== 0n ? ALL_PERMISSIONS : permissions;
}

export function applyOverwrites(
  base: bigint,
  subject: PermissionSubject,
  guildId: string,
  overwrites: readonly Overwrite[],
): bigint {
  if (base === ALL_PERMISSIONS) return base;
  let permissions = base;
  const everyone = overwrites.find((o) => o.type === 0 && o.id === guildId);
  if (everyone) permissions = (permissions & ~everyone.deny) | everyone.allow;
  let allow = 0n;
  let deny = 0n;
  for (const o of overwrites) {
    if (o.type === 0 && o.id !== guildId && subject.roleIds.includes(o.id)) {
      allow |= o.allow;
      deny |= o.deny;
    }
  }
  permissions = (permissions & ~deny) | allow;
  const member = overwrites.find((o) => o.type === 1 && o.id === subject.userId);
  if (member) permissions = (permissions & ~member.deny) | member.allow;
  // Without View Channel nothing else in the channel applies.
  return (permissions & P.ViewChannel) === 0n ? 0n : permissions;
}

export function has(permissions: bigint, bit: bigint): boolean {
  return (permissions & bit) === bit;
}

export { P as Permission };
