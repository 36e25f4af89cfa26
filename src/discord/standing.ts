/**
 * Whether someone who started a run (or a schedule) may still use Cairn where it runs, checked
 * again when the run goes on later: resumed after a restart, taken from the queue, or a schedule
 * firing. The allow-lists may have changed since (a restart is how they change), and so may the
 * person's roles, so the stored owner and place are checked against today's lists.
 */
import { DiscordAPIError, Routes } from 'discord.js';
import { z } from 'zod';
import type { Caller } from './access.js';
import type { BotApp } from './context.js';
import { explainDiscordError } from './errors.js';
import type { DurableRun } from '../durable/store.js';
import { MentionSurface } from './mention-place.js';
import { fetchChannel } from './send.js';
import { SlashSurface } from './slash-place.js';

/** Discord's JSON error code for a user who is not (or no longer) a member of the server. */
const UNKNOWN_MEMBER = 10007;

/** The part of Discord's guild member object used here (Resources > Guild > Guild Member Object). */
const MemberRoles = z.object({ roles: z.array(z.string()) });

/** Who acts where, from storage: the channel may be a thread (the lists name its parent). */
export interface StandingPlace {
  userId: string;
  guildId: string | null;
  channelId: string;
}

/**
 * Why `who` may no longer use Cairn in that place (the allow-lists' own refusal, or that they left
 * the server), or null. Roles and a thread's parent are fetched only when a list needs them. When
 * Discord cannot be asked (an outage), the check is skipped with a warning: the run passed the
 * lists when it started, and ending it for a network error would lose it.
 */
export async function standingRefusal(bot: Pick<BotApp, 'access' | 'client' | 'log'>, who: StandingPlace): Promise<string | null> {
  const needs = bot.access.needs(who.userId);
  if (!needs.roles && !needs.channel) return bot.access.refusal(callerAt(who, [], who.channelId));
  try {
    const roleIds = needs.roles && who.guildId !== null ? await rolesOf(bot, who.guildId, who.userId) : [];
    if (roleIds === null) return 'You are no longer a member of this server.';
    const channelId = needs.channel ? await accessChannelOf(bot, who.channelId) : who.channelId;
    return bot.access.refusal(callerAt(who, roleIds, channelId));
  } catch (error) {
    bot.log.warn({ err: error, userId: who.userId, reason: explainDiscordError(error) }, 'could not check whether a run\'s starter may still use Cairn there; it goes on');
    return null;
  }
}

function callerAt(who: StandingPlace, roleIds: readonly string[], channelId: string): Caller {
  return { userId: who.userId, roleIds, channelId, guildId: who.guildId, inGuild: who.guildId !== null, canManageGuild: false };
}

/** The member's role ids, over REST (no member cache without the privileged intent); null when they left. */
async function rolesOf(bot: Pick<BotApp, 'client'>, guildId: string, userId: string): Promise<string[] | null> {
  try {
    return MemberRoles.parse(await bot.client.rest.get(Routes.guildMember(guildId, userId))).roles;
  } catch (error) {
    if (error instanceof DiscordAPIError && error.code === UNKNOWN_MEMBER) return null;
    throw error;
  }
}

/** The channel the lists are checked in: a thread's parent, or the channel itself. */
async function accessChannelOf(bot: Pick<BotApp, 'client'>, channelId: string): Promise<string> {
  const channel = await fetchChannel(bot.client, channelId);
  return channel?.isThread() === true ? (channel.parentId ?? channelId) : channelId;
}

/**
 * Why a durable run's starter may no longer use Cairn where it is shown, or null. A schedule's run
 * is checked by the scheduler against its creator (its `standing` hook), so it passes here.
 */
export function runStanding(bot: Pick<BotApp, 'access' | 'client' | 'log'>, run: DurableRun, asked: StandingAnswers = new Map()): Promise<string | null> {
  const slash = SlashSurface.safeParse(run.surface);
  const mention = MentionSurface.safeParse(run.surface);
  const who = slash.success
    ? { userId: slash.data.userId, guildId: slash.data.guildId, channelId: slash.data.parentChannelId }
    : mention.success
      ? { userId: mention.data.userId, guildId: mention.data.guildId, channelId: mention.data.messageChannelId }
      : null;
  if (who === null) return Promise.resolve(null);
  // One person's runs in one place are asked about once per pass (a restart resuming many runs).
  const key = `${who.guildId ?? 'dm'}:${who.userId}:${who.channelId}`;
  let answer = asked.get(key);
  if (answer === undefined) {
    answer = standingRefusal(bot, who);
    asked.set(key, answer);
  }
  return answer;
}

/** Answers already asked for in one pass over runs, by person and place. */
export type StandingAnswers = Map<string, Promise<string | null>>;
