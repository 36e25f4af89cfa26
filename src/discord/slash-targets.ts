/**
 * The places a slash-started run writes to, built from its stored surface (slash-place.ts) and
 * its interaction's replies: the same for a run started now and one resumed after a restart.
 */
import { RESTJSONErrorCodes } from 'discord.js';
import type { RunResult } from '../agent/events.js';
import { messageKey, dmKey, threadKey } from '../conversations/keys.js';
import { CAIRN_AUTHOR, type Conversation } from '../conversations/types.js';
import { answerMessages, answerText, EPHEMERAL_NO_PREVIEWS, fileNames, NO_PREVIEWS, sendPart, type AnswerPart } from './answer.js';
import { postedMessage, type PostRequest } from './approvals.js';
import { cancelRow } from './components.js';
import type { BotApp } from './context.js';
import { postedAt } from './mention-place.js';
import { discordCode, explainDiscordError } from './errors.js';
import { readAnswerFiles, recordFilesOut } from './files-out.js';
import { sendableChannel } from './send.js';
import type { RunViewTargets } from './run-view.js';
import type { SlashSurface } from './slash-place.js';

/** A follow-up's message: an answer part or an approval request, ephemeral for a private run. */
export type FollowUp = Omit<AnswerPart | Parameters<PostRequest>[0], 'flags'> & { flags: typeof NO_PREVIEWS | typeof EPHEMERAL_NO_PREVIEWS };

/** Replies through the interaction's token (live: the interaction itself; resumed: a webhook client on its token). */
export interface InteractionReplies {
  editOriginal(payload: { content: string; components: ReturnType<typeof cancelRow>[]; allowedMentions: { parse: [] }; flags: typeof NO_PREVIEWS }): Promise<void>;
  /** A follow-up; its id, and how to edit it (approval requests are edited once decided). */
  followUp(payload: FollowUp): Promise<{ id: string; edit(content: string): Promise<void> }>;
}

/** Whether the interaction's token may still be used (Cairn stops a little before Discord's 15 minutes). */
export function tokenAlive(bot: BotApp, surface: SlashSurface): boolean {
  return Date.now() - surface.createdAt < bot.tokenLifetimeMs;
}

/** The status message (edited while the token lives, then as a channel message) and the thread of steps. */
export function viewTargets(bot: BotApp, surface: SlashSurface, replies: InteractionReplies, onError: RunViewTargets['onError']): RunViewTargets {
  const status = async (content: string, running: boolean) => {
    const payload = { content: withNote(content, surface.notes), components: running ? [cancelRow(surface.runId)] : [], allowedMentions: { parse: [] as [] }, flags: NO_PREVIEWS };
    if (tokenAlive(bot, surface)) await replies.editOriginal(payload);
    else if (surface.statusMessageId !== null) await (await sendableChannel(bot.client, surface.channelId)).messages.edit(surface.statusMessageId, payload);
  };
  const { threadId } = surface;
  if (threadId === null) return { status, onError };
  // Steps quote the model and tool output: no mention in them may ping anyone.
  const step: RunViewTargets['step'] = async (content, files) => {
    const attached = files.map((f) => ({ attachment: Buffer.from(f.content, 'utf8'), name: f.name }));
    await (await sendableChannel(bot.client, threadId)).send({ content, allowedMentions: { parse: [] }, flags: NO_PREVIEWS, ...(attached.length === 0 ? {} : { files: attached }) });
  };
  return { status, step, onError };
}

/** Approval requests go to the starter as follow-ups (private runs: ephemeral); past the token's lifetime, to the channel (private: a DM). */
export function approvalPoster(bot: BotApp, surface: SlashSurface, replies: InteractionReplies): PostRequest {
  return async (payload) => {
    if (tokenAlive(bot, surface)) {
      const posted = await replies.followUp({ ...payload, flags: surface.private ? EPHEMERAL_NO_PREVIEWS : NO_PREVIEWS });
      // A private run's follow-up is ephemeral: only its interaction's token edits it.
      return { ref: surface.private ? null : { channelId: surface.channelId, messageId: posted.id }, edit: (content) => posted.edit(content) };
    }
    const target = surface.private ? await (await bot.client.users.fetch(surface.userId)).createDM() : await sendableChannel(bot.client, surface.channelId);
    return postedMessage(await target.send(payload));
  };
}

/**
 * Posts a finished run's answer and its files (Ask Cairn in a thread: under the message asked
 * about), then makes the goal and answer a conversation's first turns. Failures to post are told
 * to the starter by DM: they are Discord's, not the run's.
 */
export async function deliverAnswer(bot: BotApp, surface: SlashSurface, replies: InteractionReplies, result: RunResult): Promise<void> {
  const files = await readAnswerFiles(result, surface.attachmentSizeLimit);
  const messages = answerMessages(result, files, { retry: true });
  const postedFiles = new Set<string>();
  const posted: string[] = [];
  let viaToken = tokenAlive(bot, surface);
  const send = async (message: AnswerPart): Promise<string> => {
    if (surface.answerInThread && surface.threadId !== null) return (await (await sendableChannel(bot.client, surface.threadId)).send({ ...message, allowedMentions: { parse: [] } })).id;
    if (viaToken) {
      try {
        return (await replies.followUp({ ...message, flags: surface.private ? EPHEMERAL_NO_PREVIEWS : NO_PREVIEWS })).id;
      } catch (error) {
        // The token died earlier than we counted (clock skew, a slow Discord): use the bot token.
        if (discordCode(error) !== RESTJSONErrorCodes.InvalidWebhookToken && discordCode(error) !== RESTJSONErrorCodes.UnknownWebhook) throw error;
        viaToken = false;
      }
    }
    if (surface.private) return (await (await bot.client.users.fetch(surface.userId)).send(message)).id;
    return (await (await sendableChannel(bot.client, surface.channelId)).send(message)).id;
  };
  try {
    for (const message of messages) {
      const { sent, filesPosted } = await sendPart(message, send, result.runId);
      posted.push(sent);
      if (filesPosted) for (const name of fileNames(message)) postedFiles.add(name);
    }
  } catch (error) {
    bot.log.warn({ err: error, runId: result.runId }, 'could not post the answer');
    await bot.client.users
      .fetch(surface.userId)
      .then((user) => user.send(`I finished run \`${result.runId}\` but could not post the answer: ${explainDiscordError(error)}`))
      .catch(() => undefined);
  }
  await recordFilesOut(bot, result.runId, files, postedFiles);
  // A private run's replies are ephemeral: nobody can reply to them, and its turns stay its own.
  if (!surface.private && posted.length > 0) await recordRun(bot, surface, result, posted);
}

/**
 * The run's goal and answer become a conversation's first turns: its thread's (when it has one),
 * else a reply chain from the answer; in a DM, the DM's. Started inside a thread Cairn converses
 * in, they join that thread's conversation.
 */
async function recordRun(bot: BotApp, surface: SlashSurface, result: RunResult, answerIds: string[]): Promise<void> {
  const { conversations } = bot.app;
  const direct = surface.guildId === null;
  try {
    const here = direct ? dmKey(surface.channelId) : threadKey(surface.channelId);
    const conversation: Conversation =
      surface.conversation ??
      (await conversations.find([here])) ??
      (direct
        ? await conversations.start({ kind: 'dm', visibility: 'private', ownerId: surface.userId, guildId: null, channelId: surface.channelId }, [here])
        : await conversations.start({ kind: 'chain', visibility: 'channel', ownerId: null, guildId: surface.guildId, channelId: surface.parentChannelId }, []));
    await conversations.record(
      conversation,
      [
        { role: 'user', authorId: surface.userId, authorName: surface.displayName, text: result.goal, runId: result.runId, messageIds: [], createdAt: surface.createdAt },
        { role: 'assistant', authorId: CAIRN_AUTHOR, authorName: 'Cairn', text: answerText(result), runId: result.runId, messageIds: answerIds, createdAt: postedAt(answerIds) },
      ],
      surface.statusMessageId === null ? [] : [messageKey(surface.statusMessageId)],
    );
  } catch (error) {
    // The answer is out; only a follow-up's context is poorer.
    bot.log.warn({ err: error, runId: result.runId }, 'could not store the run as a conversation');
  }
}


/** The status with notes under it (files taken and refused), within Discord's 2,000 characters. */
export function withNote(content: string, note: string): string {
  if (note === '') return content;
  const shownNote = note.slice(0, 900);
  return `${content.slice(0, 2_000 - shownNote.length - 1)}\n${shownNote}`;
}
