import { ChannelType, InteractionContextType, MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction, type SlashCommandSubcommandBuilder } from 'discord.js';
import { AGENT_MODES } from '../src/agent/agent.js';
import { callerOfInteraction, type BotApp } from '../src/discord/context.js';
import { ScheduleInputError } from '../src/scheduler/cron.js';
import { NOTIFY_POLICIES, type Schedule } from '../src/scheduler/store.js';
import { clip, oneLine } from '../src/text.js';

const idOption = (description: string) => (s: SlashCommandSubcommandBuilder) =>
  s.addStringOption((o) => o.setName('id').setDescription(description).setRequired(true).setMaxLength(12));

export const data = new SlashCommandBuilder()
  .setName('schedule')
  .setDescription('Run a goal on a schedule and post the report in a channel.')
  .setContexts(InteractionContextType.Guild)
  .addSubcommand((s) =>
    s
      .setName('add')
      .setDescription('Run a goal on a cron schedule (needs Manage Server or an admin role)')
      .addStringOption((o) => o.setName('cron').setDescription('Cron expression, e.g. "0 9 * * 1-5" (09:00 on weekdays)').setRequired(true).setMaxLength(100))
      .addStringOption((o) => o.setName('goal').setDescription('What Cairn should do and report on each run').setRequired(true).setMaxLength(2_000))
      .addChannelOption((o) => o.setName('channel').setDescription('Where reports are posted (default: here)').addChannelTypes(ChannelType.GuildText, ChannelType.GuildAnnouncement))
      .addStringOption((o) => o.setName('timezone').setDescription('IANA time zone for the cron expression, e.g. Europe/Oslo (default UTC)').setMaxLength(64))
      .addStringOption((o) =>
        o
          .setName('notify')
          .setDescription('When to post: every run (default), only when the finding changed, or only on failure')
          .addChoices(...NOTIFY_POLICIES.map((p) => ({ name: p, value: p }))),
      )
      .addStringOption((o) =>
        o
          .setName('mode')
          .setDescription('How Cairn works on the goal (default react)')
          .addChoices(...AGENT_MODES.map((m) => ({ name: m, value: m }))),
      ),
  )
  .addSubcommand((s) => s.setName('list').setDescription('The schedules of this server'))
  .addSubcommand((s) => idOption('Schedule id (from /schedule list)')(s.setName('remove').setDescription('Delete a schedule')))
  .addSubcommand((s) => idOption('Schedule id')(s.setName('pause').setDescription('Stop running a schedule until resumed')))
  .addSubcommand((s) => idOption('Schedule id')(s.setName('resume').setDescription('Run a paused schedule again (clears its failures)')))
  .addSubcommand((s) => idOption('Schedule id')(s.setName('run').setDescription('Run a schedule now and post its report')));

const when = (ms: number | null, style = 'R') => (ms === null ? '—' : `<t:${Math.floor(ms / 1000)}:${style}>`);
const STATUS_ICON: Record<string, string> = { succeeded: '✅', failed: '❌', stopped: '⏹️' };

export function describeSchedule(s: Schedule): string {
  const state = s.status === 'active' ? '▶️' : '⏸️';
  const last = s.lastRunAt === null ? 'never run' : `last run ${when(s.lastRunAt)} ${STATUS_ICON[s.lastStatus ?? ''] ?? ''}`;
  const lines = [
    `${state} \`${s.id}\` · \`${s.cron}\` ${s.timeZone} · ${s.notify} · <#${s.channelId}> · next ${s.status === 'active' ? when(s.nextRunAt) : 'paused'} · ${last}`,
    `> ${oneLine(s.goal, 160)}`,
  ];
  if (s.pausedReason !== null) lines.push(`-# ${oneLine(s.pausedReason, 300)}`);
  else if (s.consecutiveFailures > 0) lines.push(`-# ${s.consecutiveFailures} failure(s) in a row; backing off until ${when(s.backoffUntil)}`);
  if (s.lastDeliveryError !== null) lines.push(`-# last delivery failed: ${oneLine(s.lastDeliveryError, 200)}`);
  return lines.join('\n');
}

/** Descriptions that fit one message; the rest are counted, not cut mid-line. */
function listing(schedules: readonly Schedule[]): string {
  const parts: string[] = [];
  let length = 0;
  for (const [i, schedule] of schedules.entries()) {
    const text = describeSchedule(schedule);
    if (length + text.length > 1_850) {
      parts.push(`… and ${schedules.length - i} more (\`npx cairn schedule list\` shows all).`);
      break;
    }
    parts.push(text);
    length += text.length + 1;
  }
  return parts.join('\n');
}

export async function execute(interaction: ChatInputCommandInteraction, app: BotApp): Promise<void> {
  // Answers wait behind the schedules table's write queue: acknowledge within Discord's 3 s first.
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const reply = (content: string) => interaction.editReply({ content: clip(content, 2_000), allowedMentions: { parse: [] } });
  const caller = callerOfInteraction(interaction);
  const refused = app.access.refusal(caller);
  if (refused !== null) {
    await reply(refused);
    return;
  }
  const sub = interaction.options.getSubcommand();
  const { scheduler } = app;
  const isAdmin = app.access.isAdmin(caller);
  if (sub === 'list') {
    // Goals can reveal what private channels are about: admins see all, others this channel's.
    const all = (await scheduler.list(interaction.guildId)).filter((s) => isAdmin || s.channelId === caller.channelId);
    const empty = isAdmin ? 'No schedules here yet. Add one with `/schedule add`.' : 'No schedules report in this channel.';
    await reply(all.length === 0 ? empty : listing(all));
    return;
  }
  if (!isAdmin) {
    await reply('Managing schedules needs the Manage Server permission or one of the admin roles (CAIRN_ADMIN_ROLES).');
    return;
  }
  if (sub === 'add') {
    await addSchedule(interaction, app);
    return;
  }
  const id = interaction.options.getString('id', true).trim().toLowerCase();
  const found = await scheduler.get(id);
  if (found === undefined || found.guildId !== interaction.guildId) {
    await reply(`There is no schedule \`${id}\` in this server. \`/schedule list\` shows them.`);
    return;
  }
  switch (sub) {
    case 'remove':
      await scheduler.remove(id);
      await reply(`Removed schedule \`${id}\`.`);
      return;
    case 'pause':
      await scheduler.pause(id);
      await reply(`Paused schedule \`${id}\`. \`/schedule resume id:${id}\` starts it again.`);
      return;
    case 'resume': {
      try {
        const resumed = await scheduler.resume(id);
        await reply(`Resumed schedule \`${id}\`; next run ${when(resumed?.nextRunAt ?? null, 'F')}.`);
      } catch (error) {
        // A schedule stored before today's checks whose expression they refuse: say why, privately.
        if (!(error instanceof ScheduleInputError)) throw error;
        await reply(error.message);
      }
      return;
    }
    default: {
      const fired = await scheduler.fire(id, 'manual');
      await reply(fired.started ? `Running schedule \`${id}\` now; the report will be posted in <#${found.channelId}>.` : `Schedule \`${id}\` was not run: ${fired.why}.`);
    }
  }
}

async function addSchedule(interaction: ChatInputCommandInteraction, app: BotApp): Promise<void> {
  const channel = interaction.options.getChannel('channel');
  const channelId = channel?.id ?? interaction.channelId;
  const refused = app.access.refusal({ ...callerOfInteraction(interaction), channelId });
  if (refused !== null) {
    await interaction.editReply(`Reports cannot go to <#${channelId}>: ${refused}`);
    return;
  }
  const notify = NOTIFY_POLICIES.find((p) => p === interaction.options.getString('notify')) ?? 'always';
  const mode = AGENT_MODES.find((m) => m === interaction.options.getString('mode')) ?? 'react';
  try {
    const { schedule, nextRuns } = await app.scheduler.add({
      cron: interaction.options.getString('cron', true),
      timeZone: interaction.options.getString('timezone') ?? 'UTC',
      goal: interaction.options.getString('goal', true),
      mode,
      guildId: interaction.guildId,
      channelId,
      creatorId: interaction.user.id,
      creatorName: interaction.user.globalName ?? interaction.user.username,
      notify,
    });
    const times = nextRuns.map((d) => `<t:${Math.floor(d.getTime() / 1000)}:F>`).join(', ');
    await interaction.editReply(
      clip(`🗓️ Schedule \`${schedule.id}\` added: \`${schedule.cron}\` (${schedule.timeZone}), notify ${schedule.notify}, reports in <#${schedule.channelId}>.\n> ${oneLine(schedule.goal, 300)}\nNext runs: ${times}`, 2_000),
    );
  } catch (error) {
    if (!(error instanceof ScheduleInputError)) throw error;
    await interaction.editReply(error.message);
  }
}
