import { InteractionContextType, MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { callerOfInteraction, type BotApp } from '../src/discord/context.js';
import { clip } from '../src/text.js';
import { personalText, serverText, type ServerView } from '../src/usage/format.js';
import type { UsageStore } from '../src/usage/store.js';
import { groupsOf, periodOf, periodStarts, topAndRest, topRuns } from '../src/usage/summary.js';

export const data = new SlashCommandBuilder()
  .setName('usage')
  .setDescription('Your runs, tokens and estimated cost today and this month, against your budgets.')
  .setContexts(InteractionContextType.Guild, InteractionContextType.BotDM);

const TOP_PEOPLE = 10;
const TOP_SCHEDULES = 5;
const TOP_RUNS = 5;

/** One server's month, as its admins see it. Reads that server's rows only. */
async function serverView(usage: UsageStore, guildId: string, now: number): Promise<ServerView> {
  const { dayStart, monthStart } = periodStarts(now);
  const rows = await usage.forServer(guildId, monthStart);
  const costliest = topRuns(rows, TOP_RUNS);
  const goals = await usage.goals(
    guildId,
    costliest.map((r) => r.id),
  );
  return {
    period: periodOf(rows, dayStart),
    people: topAndRest(groupsOf(rows, (r) => r.user_id, dayStart), TOP_PEOPLE),
    schedules: topAndRest(groupsOf(rows, (r) => r.schedule_id, dayStart), TOP_SCHEDULES),
    topRuns: costliest.map((r) => {
      const found = goals.get(r.id);
      // A private run's goal is its owner's alone, admins included.
      return { id: r.id, userId: r.user_id, usd: r.usd, goal: found === undefined || found.visibility === 'private' ? null : found.goal };
    }),
  };
}

/**
 * `/usage`: your runs, tokens and estimated cost today and this month against your daily budget
 * (and the server's). A server's admins also get its totals by person and by schedule and its
 * costliest runs — for the server they ask in only; in DMs nobody gets any server's numbers.
 */
export async function execute(interaction: ChatInputCommandInteraction, bot: BotApp): Promise<void> {
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const caller = callerOfInteraction(interaction);
  const { usage, budgets } = bot.app;
  const now = Date.now();
  const { dayStart, monthStart } = periodStarts(now);
  const standing = budgets.standing(caller.userId, caller.guildId);
  const personal = personalText({
    period: periodOf(await usage.forUser(caller.userId, monthStart), dayStart),
    user: standing.user,
    server: standing.server,
    resetInHours: standing.resetInHours,
  });
  // Names in the text are shown, never pinged.
  await interaction.editReply({ content: clip(personal, 2_000), allowedMentions: { parse: [] } });
  if (caller.guildId === null || !bot.access.isAdminOf(caller, caller.guildId)) return;
  const server = serverText(await serverView(usage, caller.guildId, now));
  await interaction.followUp({ content: clip(server, 2_000), flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } });
}
