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
import { callerOfInteraction, type BotApp } from './context.js';

const privately = (content: string) => ({ content, flags: MessageFlags.Ephemeral as const });

/** Buttons act only for the person who started the run; others get a short private note. */
export async function handleButton(interaction: ButtonInteraction, action: Extract<ComponentAction, { kind: 'vote' | 'cancel' }>, bot: BotApp): Promise<void> {
  // A run just started may not have its episode written yet; the registry knows it already.
  const running = bot.runs.get(action.runId);
  const episode = running === undefined ? await bot.app.memory.episodes.get(action.runId) : undefined;
  const starter = running?.userId ?? episode?.scope.userId;
  if (starter === undefined) {
    await interaction.reply(privately('I no longer know this run.'));
    return;
  }
  // A scheduled report is the channel's: anyone there may rate it.
  const anyoneMayVote = episode?.trigger === 'schedule' && action.kind === 'vote';
  if (interaction.user.id !== starter && !anyoneMayVote) {
    const isAdmin = bot.access.isAdmin(callerOfInteraction(interaction));
    if (!(action.kind === 'cancel' && isAdmin)) {
      await interaction.reply(privately(`Only <@${starter}>, who started this run, can use these buttons.${action.kind === 'vote' ? ' You can react with 👍 or 👎 instead.' : ''}`));
      return;
    }
  }
  if (action.kind === 'cancel') {
    const cancelled = bot.runs.cancel(action.runId, interaction.user.id === starter ? 'the run was cancelled' : `cancelled by <@${interaction.user.id}>`);
    await interaction.reply(privately(cancelled ? 'Cancelling the run…' : 'This run is not running any more.'));
    return;
  }
  if (action.vote === 'down') {
    // The modal is the acknowledgement; the vote is kept even if the modal is dismissed.
    await interaction.showModal(commentModal(action.runId));
    await recordVote(bot.app, action.runId, { userId: interaction.user.id, vote: 'down', comment: null });
    return;
  }
  // Acknowledge first: Discord allows 3 s, and the write may wait behind others.
  await interaction.reply(privately('Thanks — noted 👍'));
  await recordVote(bot.app, action.runId, { userId: interaction.user.id, vote: 'up', comment: null });
}

/** The 👎 modal: the comment replaces the bare down-vote recorded when it opened. */
export async function handleComment(interaction: ModalSubmitInteraction, runId: string, bot: BotApp): Promise<void> {
  const comment = interaction.fields.getTextInputValue(COMMENT_FIELD).trim();
  await interaction.reply(privately('Thanks — your feedback was saved. 👎'));
  const known = await recordVote(bot.app, runId, { userId: interaction.user.id, vote: 'down', comment: comment === '' ? null : comment.slice(0, 1_000) });
  if (!known) bot.log.warn({ runId }, 'a comment arrived for an unknown run');
}

/** 👍/👎 reactions on an answer count as votes, from anyone, even on messages from before a restart. */
export async function handleReaction(reaction: MessageReaction | PartialMessageReaction, user: User | PartialUser, bot: BotApp): Promise<void> {
  if (user.id === bot.client.user?.id || user.bot) return;
  const emoji = reaction.emoji.name;
  if (emoji !== UP && emoji !== DOWN) return;
  const message = reaction.message.partial ? await reaction.message.fetch() : reaction.message;
  if (message.author.id !== bot.client.user?.id) return;
  const runId = runIdFromComponents(message.components);
  if (runId === null) return;
  await recordVote(bot.app, runId, { userId: user.id, vote: emoji === UP ? 'up' : 'down', comment: null });
}
