/**
 * 🔁 Retry on an answer: a new run with the stored goal, files, mode and privacy of the run it
 * retries, under the place's current settings, linked to it. Only the run's starter may retry
 * it, as the run record (never the message or custom id) says. A 👎 given just before is turned
 * into its lesson first (bounded wait), so the retry can apply it.
 */
import { MessageFlags, type ButtonInteraction } from 'discord.js';
import { messageKey } from '../conversations/keys.js';
import type { Conversation } from '../conversations/types.js';
import { lessonApplies } from '../memory/lesson-match.js';
import { sqlList } from '../memory/schema.js';
import type { RunRecord } from '../runs/types.js';
import { askHistory } from './ask.js';
import { callerOfInteraction, type BotApp } from './context.js';
import { runFromSlash } from './slash-run.js';

/** How long a retry waits for the lesson of a 👎 given just before (one model call, usually). */
export const LESSON_WAIT_MS = 20_000;

export const APPLYING_LESSON = '📝 Applying the lesson from your 👎.';
export const LESSON_NOT_READY = '📝 The lesson from your 👎 was not ready in time: this retry runs without it.';

const privately = (content: string) => ({ content, flags: MessageFlags.Ephemeral as const, allowedMentions: { parse: [] } });

export async function handleRetry(interaction: ButtonInteraction, runId: string, bot: BotApp): Promise<void> {
  const record = await bot.app.runRecords.get(runId);
  if (record === null) {
    await interaction.reply(
      privately(`I cannot retry run \`${runId}\`: I no longer know what it was asked (it is older than Cairn's run records, or was not started with a command). Start it again with \`/agent\`.`),
    );
    return;
  }
  const caller = callerOfInteraction(interaction);
  if (caller.userId !== record.userId) {
    await interaction.reply(privately(`Only <@${record.userId}>, who started this run, can retry it. You can start your own with \`/agent\`.`));
    return;
  }
  // Acknowledged now: waiting for a lesson can take longer than Discord's 3 s.
  await interaction.deferReply(record.private ? { flags: MessageFlags.Ephemeral } : {});
  const lesson = await bot.app.reflector.lessonFromDownVote(runId, caller.userId, LESSON_WAIT_MS);
  let notice: string | undefined;
  if (lesson.state === 'pending') notice = LESSON_NOT_READY;
  if (lesson.state === 'learned') {
    const [stored] = await bot.app.memory.semantic.list(`id IN ${sqlList([lesson.lessonId])}`, 1);
    // Said only when recall will find it: the same filter runs apply (src/memory/run-memory.ts).
    if (stored !== undefined && lessonApplies(record.goal, stored)) notice = APPLYING_LESSON;
  }
  bot.log.info({ runId, userId: caller.userId, lesson: lesson.state }, 'retrying a run');
  // An answer in a conversation (a mention's, a run's, a retry's) is retried with the conversation
  // as it was before it, and the retry's turns join that conversation.
  const conversation = await bot.app.conversations.find([messageKey(interaction.message.id)], { settled: true });
  const speaker = { id: caller.userId, name: interaction.inCachedGuild() ? interaction.member.displayName : interaction.user.displayName };
  const before = conversation === undefined ? null : await bot.app.conversations.beforeRun(conversation, speaker, await firstAttempt(bot, record, conversation));
  const history = before === null || before.history.length === 0 ? undefined : { messages: before.history, fromOthers: before.historyFromOthers };
  await runFromSlash(interaction, bot, {
    goal: record.goal,
    ...(record.mode === null ? {} : { mode: record.mode }),
    private: record.private,
    attachments: record.attachments,
    source: 'retry',
    retryOf: record.runId,
    ...(record.askedAbout === undefined ? {} : { askedAbout: record.askedAbout, history: askHistory(record.askedAbout, record.attachments, caller.userId) }),
    ...(history === undefined ? {} : { history }),
    ...(notice === undefined ? {} : { notice }),
    ...(conversation === undefined ? {} : { conversation }),
  });
}

/** Retries of retries followed back at most this far (each step is one lookup). */
const MAX_LINEAGE = 10;

/**
 * The earliest attempt at this answer that the conversation holds: a retry of a retry sees the
 * conversation as it was before the first attempt, not the attempts it replaces.
 */
async function firstAttempt(bot: BotApp, record: RunRecord, conversation: Conversation): Promise<string> {
  const lineage = [record.runId];
  let parent = record.retryOf;
  while (parent !== null && lineage.length < MAX_LINEAGE && !lineage.includes(parent)) {
    lineage.push(parent);
    parent = (await bot.app.runRecords.get(parent))?.retryOf ?? null;
  }
  const inConversation = new Set((await bot.app.conversations.store.turns(conversation.id)).map((t) => t.runId));
  return lineage.findLast((id) => inConversation.has(id)) ?? record.runId;
}
