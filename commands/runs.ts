import { MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { formatCost } from '../src/console/render.js';
import { callerOfInteraction, type BotApp } from '../src/discord/context.js';
import { clip, oneLine } from '../src/text.js';
import type { Episode } from '../src/memory/episodes.js';
import { sqlList, sqlString } from '../src/memory/schema.js';
import type { MemoryRecord } from '../src/memory/types.js';

export const data = new SlashCommandBuilder()
  .setName('runs')
  .setDescription('Your recent runs: list them, show one, or cancel one.')
  .addSubcommand((s) => s.setName('list').setDescription('Your last 10 runs'))
  .addSubcommand((s) =>
    s
      .setName('show')
      .setDescription('The steps and result of one run')
      .addStringOption((o) => o.setName('id').setDescription('Run id (shown under each run)').setRequired(true).setMaxLength(40)),
  )
  .addSubcommand((s) =>
    s
      .setName('cancel')
      .setDescription('Stop a run that is still going')
      .addStringOption((o) => o.setName('id').setDescription('Run id').setRequired(true).setMaxLength(40)),
  );

const ICON: Record<Episode['status'], string> = { running: '🔄', succeeded: '✅', failed: '❌', stopped: '⏹️', interrupted: '⚠️' };
const when = (ms: number) => `<t:${Math.floor(ms / 1000)}:R>`;

function showEpisode(e: Episode, applied: readonly MemoryRecord[]): string {
  const votes = e.feedback.map((v) => `${v.vote === 'up' ? '👍' : '👎'} <@${v.userId}>${v.comment === null ? '' : `: “${clip(v.comment, 120)}”`}`);
  // Plan and reflexion runs head each task or attempt with its title.
  const steps = e.steps.flatMap((s, i) => [
    ...(s.stage !== undefined && s.stage !== e.steps[i - 1]?.stage ? [`*${oneLine(s.stage, 120)}*`] : []),
    `${s.step}. ${s.decision === 'final' ? 'answer' : s.tools.map((t) => `${t.ok ? '✅' : '⚠️'} \`${t.name}\``).join(' ')}`,
  ]);
  const lessons = e.appliedLessonIds.map((id) => {
    const lesson = applied.find((m) => m.id === id);
    return `- ${lesson === undefined ? '*(since forgotten)*' : `“${oneLine(lesson.text, 220)}”`} \`${id}\``;
  });
  return clip(
    [
      `${ICON[e.status]} **${e.status}** · run \`${e.id}\` · ${e.trigger} · started ${when(e.startedAt)}`,
      `> ${clip(e.goal, 300)}`,
      `${e.steps.length} steps · ${(e.usage.promptTokens + e.usage.completionTokens).toLocaleString('en')} tokens · ${formatCost(e.costUsd)}${e.reason === null ? '' : ` · ${e.reason}`}`,
      ...(steps.length > 0 ? ['**Steps**', ...steps.slice(-20)] : []),
      ...(e.answer === null ? [] : ['**Answer**', clip(e.answer, 800)]),
      ...(votes.length > 0 ? ['**Feedback**', ...votes] : []),
      ...(lessons.length > 0 ? ['**Lessons applied**', ...lessons] : []),
      ...(e.lessonIds.length > 0 ? [`**Lessons learned from this run**: ${e.lessonIds.map((id) => `\`${id}\``).join(', ')}`] : []),
    ].join('\n'),
    2_000,
  );
}

export async function execute(interaction: ChatInputCommandInteraction, app: BotApp): Promise<void> {
  const reply = (content: string) => interaction.reply({ content, flags: MessageFlags.Ephemeral });
  const sub = interaction.options.getSubcommand();
  const userId = interaction.user.id;
  if (sub === 'list') {
    const episodes = await app.app.memory.episodes.list(`user_id = ${sqlString(userId)}`, 10);
    await reply(
      episodes.length === 0
        ? 'You have no runs yet. Start one with `/agent`.'
        : episodes.map((e) => `${ICON[e.status]} \`${e.id}\` ${when(e.startedAt)} — ${oneLine(e.goal, 80)}`).join('\n'),
    );
    return;
  }
  const id = interaction.options.getString('id', true).trim();
  const episode = await app.app.memory.episodes.get(id);
  const isAdmin = app.access.isAdmin(callerOfInteraction(interaction));
  // Someone else's run is as good as unknown: ids are not secrets, but runs are private.
  if (episode === undefined || (episode.scope.userId !== userId && !isAdmin)) {
    await reply(`There is no run \`${id}\` of yours. \`/runs list\` shows your runs.`);
    return;
  }
  if (sub === 'show') {
    const ids = episode.appliedLessonIds;
    const applied = ids.length === 0 ? [] : await app.app.memory.semantic.list(`id IN ${sqlList(ids)}`, ids.length);
    await reply(showEpisode(episode, applied));
    return;
  }
  const cancelled = app.runs.cancel(id, episode.scope.userId === userId ? 'the run was cancelled' : `cancelled by <@${userId}>`);
  await reply(cancelled ? `Cancelling run \`${id}\`…` : `Run \`${id}\` is not running (it is ${episode.status}).`);
}
