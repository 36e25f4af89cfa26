import { MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { formatCost } from '../src/console/render.js';
import { callerOfInteraction, type BotApp } from '../src/discord/context.js';
import { clip, oneLine } from '../src/text.js';
import type { Episode } from '../src/memory/episodes.js';
import { sqlList } from '../src/memory/schema.js';
import { findRun, mayCancel, maySee } from '../src/discord/run-access.js';
import { scheduleScope } from '../src/scheduler/execute.js';
import { runRecordLines } from '../src/runs/describe.js';
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

/** One run in full, as `viewerId` may see it: another person's private lessons are named, not quoted. */
function showEpisode(e: Episode, applied: readonly MemoryRecord[], viewerId: string, recordLines: readonly string[]): string {
  const votes = e.feedback.map((v) => `${v.vote === 'up' ? '👍' : '👎'} <@${v.userId}>${v.comment === null ? '' : `: “${clip(v.comment, 120)}”`}`);
  // Plan and reflexion runs head each task or attempt with its title.
  const steps = e.steps.flatMap((s, i) => [
    ...(s.stage !== undefined && s.stage !== e.steps[i - 1]?.stage ? [`*${oneLine(s.stage, 120)}*`] : []),
    `${s.step}. ${s.decision === 'final' ? 'answer' : s.tools.map((t) => `${t.ok ? '✅' : '⚠️'} \`${t.name}\``).join(' ')}`,
  ]);
  const lessons = e.appliedLessonIds.map((id) => {
    const lesson = applied.find((m) => m.id === id);
    if (lesson === undefined) return `- *(since forgotten)* \`${id}\``;
    if (lesson.scopeKey.startsWith('user:') && lesson.scopeKey !== `user:${viewerId}`) return `- *(a private lesson of the run's owner)*`;
    return `- “${oneLine(lesson.text, 220)}” \`${id}\``;
  });
  return clip(
    [
      `${ICON[e.status]} **${e.status}** · run \`${e.id}\` · ${e.trigger} · started ${when(e.startedAt)}`,
      `> ${clip(e.goal, 300)}`,
      `${e.steps.length} steps · ${(e.usage.promptTokens + e.usage.completionTokens).toLocaleString('en')} tokens · ${formatCost(e.costUsd)}${e.reason === null ? '' : ` · ${e.reason}`}`,
      ...recordLines,
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
  const caller = callerOfInteraction(interaction);
  if (sub === 'list') {
    // Your runs, and the runs of schedules you created (they run as the schedule, billed to you).
    const schedules = await app.scheduler.createdBy(caller.userId);
    const owners = [caller.userId, ...schedules.map((s) => scheduleScope(s).userId)];
    const episodes = await app.app.memory.episodes.list(`user_id IN ${sqlList(owners)}`, 10);
    await reply(
      episodes.length === 0
        ? 'You have no runs yet. Start one with `/agent`.'
        : episodes.map((e) => `${ICON[e.status]} \`${e.id}\` ${when(e.startedAt)}${e.trigger === 'schedule' ? ' ⏰' : ''} — ${oneLine(e.goal, 80)}`).join('\n'),
    );
    return;
  }
  const id = interaction.options.getString('id', true).trim();
  const run = await findRun(app, id);
  // Someone else's run is as good as unknown: ids are not secrets, but runs are private. Admins
  // reach only runs of the server they are admins of, and never a private run's contents.
  const allowed = run !== undefined && (sub === 'show' ? maySee(app, caller, run) : mayCancel(app, caller, run));
  if (run === undefined || !allowed) {
    await reply(`There is no run \`${id}\` of yours. \`/runs list\` shows your runs.`);
    return;
  }
  if (sub === 'show') {
    const episode = await app.app.memory.episodes.get(id);
    if (episode === undefined) {
      await reply(`Run \`${id}\` has just started; try again in a moment.`);
      return;
    }
    const ids = episode.appliedLessonIds;
    const applied = ids.length === 0 ? [] : await app.app.memory.semantic.list(`id IN ${sqlList(ids)}`, ids.length);
    // What it was asked, its retries and files (runs started before run records existed have none).
    const record = await app.app.runRecords.get(id);
    const recordLines = record === null ? [] : runRecordLines(record, await app.app.runRecords.retriesOf(id));
    await reply(showEpisode(episode, applied, caller.userId, recordLines));
    return;
  }
  const reason = run.ownerId === caller.userId ? 'the run was cancelled' : `cancelled by <@${caller.userId}>`;
  if (app.runs.cancel(id, reason)) {
    await reply(`Cancelling run \`${id}\`…`);
    return;
  }
  // With a queue, the run is waiting for a worker or running on one.
  const elsewhere = app.queue === undefined ? null : await app.queue.cancel(id, reason);
  await reply(elsewhere === 'removed' ? `Run \`${id}\` was cancelled before it started.` : elsewhere === 'signalled' ? `Cancelling run \`${id}\`…` : `Run \`${id}\` is not running here.`);
}
