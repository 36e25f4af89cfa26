/**
 * The built-in cast: two guilds the bot is in, their roles, text channels and members.
 *
 *   main guild "Cairn Test Server": #general, #no-threads, #read-only; alice, bob, carol (admin),
 *     mallory (plain member), an outside owner and the bot.
 *   other guild "Other Server": #other-general; mallory (admin there), the same outside owner
 *     and the bot.
 *
 * mallory is the cross-server case security tests need: an admin of one server who is an
 * ordinary member of another.
 */
import { Locale } from 'discord.js';
import {
  ADMIN_ROLE_PERMISSIONS,
  BOT_ROLE_PERMISSIONS,
  EVERYONE_PERMISSIONS,
  Permission,
  type Overwrite,
} from './permissions.js';
import type { Snowflakes } from './snowflake.js';
import type { StoredChannel, StoredGuild, StoredRole, StoredUser } from './world.js';

export interface Cast {
  alice: StoredUser;
  bob: StoredUser;
  carol: StoredUser;
  mallory: StoredUser;
  /** Owns both guilds (and the application); outside the cast so nobody driven has owner powers. */
  ownerId: string;
  otherGuild: string;
  adminRole: string;
  memberRole: string;
  botRole: string;
  otherAdminRole: string;
  otherBotRole: string;
  general: string;
  noThreads: string;
  readOnly: string;
  otherGeneral: string;
}

/** The parts of the World the cast is written into. */
export interface CastTarget {
  ids: Snowflakes;
  guildId: string;
  bot: StoredUser;
  users: Map<string, StoredUser>;
  guilds: Map<string, StoredGuild>;
  roles: Map<string, StoredRole>;
  channels: Map<string, StoredChannel>;
}

export function buildCast(world: CastTarget): Cast {
  const user = (username: string, globalName: string): StoredUser => {
    const u = { id: world.ids.next(), username, globalName, bot: false };
    world.users.set(u.id, u);
    return u;
  };
  const alice = user('alice', 'Alice');
  const bob = user('bob', 'Bob');
  const carol = user('carol', 'Carol');
  const ownerId = user('owner', 'Owner').id;
  const mallory = user('mallory', 'Mallory');

  const guild = (id: string, name: string, locale: Locale): StoredGuild => {
    const g: StoredGuild = { id, name, ownerId, locale, systemChannelId: null, members: new Map() };
    world.guilds.set(id, g);
    return g;
  };
  // Discord: the @everyone role's id is the guild's id (Topics > Permissions > Role Object).
  const role = (g: StoredGuild, name: string, permissions: bigint, position: number, managedByBot = false): string => {
    const id = name === '@everyone' ? g.id : world.ids.next();
    world.roles.set(id, { id, guildId: g.id, name, permissions, position, managedByBot });
    return id;
  };
  const join = (g: StoredGuild, userId: string, roleIds: string[]): void => {
    g.members.set(userId, { userId, roleIds, joinedAt: Date.now() });
  };
  const text = (g: StoredGuild, name: string, position: number, overwrites: Overwrite[] = []): string => {
    const id = world.ids.next();
    world.channels.set(id, { kind: 'text', id, guildId: g.id, name, position, topic: null, overwrites });
    return id;
  };
  const denyBot = (deny: bigint): Overwrite[] => [{ id: world.bot.id, type: 1, allow: 0n, deny }];

  const main = guild(world.guildId, 'Cairn Test Server', Locale.EnglishUS);
  role(main, '@everyone', EVERYONE_PERMISSIONS, 0);
  const memberRole = role(main, 'member', 0n, 1);
  const adminRole = role(main, 'admin', ADMIN_ROLE_PERMISSIONS, 2);
  // Discord gives a bot invited with permissions a managed role holding them.
  const botRole = role(main, 'Cairn', BOT_ROLE_PERMISSIONS, 3, true);
  join(main, ownerId, [memberRole]);
  join(main, alice.id, [memberRole]);
  join(main, bob.id, [memberRole]);
  join(main, carol.id, [memberRole, adminRole]);
  join(main, world.bot.id, [botRole]);
  join(main, mallory.id, [memberRole]);
  const general = text(main, 'general', 0);
  const noThreads = text(main, 'no-threads', 1, denyBot(Permission.CreatePublicThreads | Permission.CreatePrivateThreads));
  const readOnly = text(main, 'read-only', 2, denyBot(Permission.SendMessages));
  main.systemChannelId = general;

  // A different preferred locale, so a test can tell which guild an interaction's context came from.
  const other = guild(world.ids.next(), 'Other Server', Locale.EnglishGB);
  role(other, '@everyone', EVERYONE_PERMISSIONS, 0);
  const otherAdminRole = role(other, 'admin', ADMIN_ROLE_PERMISSIONS, 1);
  const otherBotRole = role(other, 'Cairn', BOT_ROLE_PERMISSIONS, 2, true);
  join(other, ownerId, []);
  join(other, mallory.id, [otherAdminRole]);
  join(other, world.bot.id, [otherBotRole]);
  const otherGeneral = text(other, 'other-general', 0);
  other.systemChannelId = otherGeneral;

  return {
    alice,
    bob,
    carol,
    mallory,
    ownerId,
    otherGuild: other.id,
    adminRole,
    memberRole,
    botRole,
    otherAdminRole,
    otherBotRole,
    general,
    noThreads,
    readOnly,
    otherGeneral,
  };
}
