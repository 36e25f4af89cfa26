import {
  MessageFlags,
  type ButtonInteraction,
  type MessageReaction,
  type ModalSubmitInteraction,
  type PartialMessageReaction,
  type PartialUser,
  type User,
} from 'discord.js';
import { recordVote } from '../feedback/votes.js';
import { COMMENT_FIELD, commentModal, DOWN, runIdFromComponents, UP, type ComponentAction } from './components.js';
import { callerOfInteraction, callerOfMessage, gate, type BotApp } from './context.js';
import { findRun, mayCancel, voteTeaches } from './run-access.js';

const privately = (content: string) => ({ content, flags: MessageFlags.Ephemeral as const });

/**
 * Vote and Cancel buttons. Who may press them is decided from the stored run, not the custom id:
 * votes from the run's owner (a scheduled report: anyone in its channel), Cancel from the owner
 * or an admin of the run's own server. Others get a short private note.
 */
export async function handleButton(interaction: ButtonInteraction, action: Extract<ComponentAction, { kind: 'vote' | 'cancel' }>, bot: BotApp): Promise<void> {
  const run = await findRun(bot, action.runId);
  if (run === undefined) {
    await interaction.reply(privately('I no longer know this run.'));
    return;
  }
  const caller = callerOfInteraction(interaction);
  if (action.kind === 'cancel') {
    if (!mayCancel(bot, caller, run)) {
      await interaction.reply(privately(run.ownerId === null ? 'Only an admin of this server can cancel this run.' : `Only <@${run.ownerId}>, who started this run, can cancel it.`));
      return;
    }
    const reason = caller.userId === run.ownerId ? 'the run was cancelled' : `cancelled by <@${caller.userId}>`;
    if (bot.runs.cancel(action.runId, reason)) {
      await interaction.reply(privately('Cancelling the run…'));
      return;
    }
    // With a queue, the run is waiting for a worker or running on one.
    const elsewhere = bot.queue === undefined ? null : await bot.queue.cancel(action.runId, reason);
    if (elsewhere === 'removed') await interaction.update({ content: `⏹️ Run \`${action.runId}\` was cancelled before it started.`, components: [] });
    else await interaction.reply(privately(elsewhere === 'signalled' ? 'Cancelling the run…' : 'This run is not running any more.'));
    return;
  }
  if (!voteTeaches(caller, run)) {
    await interaction.reply(privately(`Only ${run.ownerId === null ? 'the person who started this run' : `<@${run.ownerId}>, who started this run,`} can use these buttons. You can react with 👍 or 👎 instead.`));
    return;
  }
  if (action.vote === 'down') {
    // The modal is the acknowledgement; the vote is kept even if the modal is dismissed.
    await interaction.showModal(commentModal(action.runId));
    await recordVote(bot.app, action.runId, { userId: caller.userId, vote: 'down', comment: null }, { teaches: true });
    return;
  }
  // Acknowledge first: Discord allows 3 s, and the write may wait behind others.
  await interaction.reply(privately('Thanks — noted 👍'));
  await recordVote(bot.app, action.runId, { userId: caller.userId, vote: 'up', comment: null }, { teaches: true });
}

/**
 * The 👎 modal: the comment replaces the bare down-vote recorded when it opened. A modal's custom
 * id comes from the client, so the submitter is checked against the stored run like a button press.
 */
export async function handleComment(interaction: ModalSubmitInteraction, runId: string, bot: BotApp): Promise<void> {
  const run = await findRun(bot, runId);
  if (run === undefined || !voteTeaches(callerOfInteraction(interaction), run)) {
    bot.log.warn({ runId, userId: interaction.user.id }, 'a comment arrived from someone who may not rate this run');
    await interaction.reply(privately('You cannot comment on this run.'));
    return;
  }
  const comment = interaction.fields.getTextInputValue(COMMENT_FIELD).trim();
  await interaction.reply(privately('Thanks — your feedback was saved. 👎'));
  await recordVote(bot.app, runId, { userId: interaction.user.id, vote: 'down', comment: comment === '' ? null : comment.slice(0, 1_000) }, { teaches: true });
}

/**
 * 👍/👎 reactions on an answer count as votes, even on messages from before a restart, from
 * anyone the access policy admits here (rate-limited like commands). Only the owner's (or, on a
 * report, the channel's) reactions teach; others' are stored and shown, and change nothing.
 */
export async function handleReaction(reaction: MessageReaction | PartialMessageReaction, user: User | PartialUser, bot: BotApp): Promise<void> {
  if (user.id === bot.client.user?.id || user.bot) return;
  const emoji = reaction.emoji.name;
  if (emoji !== UP && emoji !== DOWN) return;
  const message = reaction.message.partial ? await reaction.message.fetch() : reaction.message;
  if (message.author.id !== bot.client.user?.id) return;
  const runId = runIdFromComponents(message.components);
  if (runId === null) return;
  const caller = callerOfMessage(message, user);
  const refusal = gate(bot, caller);
  if (refusal !== null) {
    bot.log.info({ runId, userId: user.id, refusal }, 'a reaction was not counted');
    return;
  }
  const run = await findRun(bot, runId);
  if (run === undefined) return;
  await recordVote(bot.app, runId, { userId: user.id, vote: emoji === UP ? 'up' : 'down', comment: null }, { teaches: voteTeaches(caller, run) });
}
