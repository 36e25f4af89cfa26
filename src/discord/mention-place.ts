/**
 * Where a run answering a message (a mention, a reply, a DM, a thread Cairn converses in) is
 * shown, by ids: kept with its durable record so that a restarted bot answers in the same place —
 * a reply to the person's message, or the thread opened for it — and records the same turns.
 */
import { SnowflakeUtil, type Message, type MessageCreateOptions } from 'discord.js';
import { z } from 'zod';
import type { RunResult } from '../agent/events.js';
import { CAIRN_AUTHOR } from '../conversations/types.js';
import { answerMessages, answerText, fileNames, postedOnce, sendPart, type AnswerPart } from './answer.js';
import { postedMessage, type PostRequest } from './approvals.js';
import type { BotApp } from './context.js';
import { readAnswerFiles, recordFilesOut } from './files-out.js';
import { sendableChannel } from './send.js';
import { StoredAttachments, StoredConversation } from './slash-place.js';

const id = z.string().min(1).max(64);

export const MentionSurface = z.object({
  kind: z.literal('mention'),
  runId: id,
  /** The person answered, and how their turn is named. */
  userId: id,
  speakerName: z.string().max(200),
  guildId: id.nullable(),
  /** The message answered. */
  messageId: id,
  messageChannelId: id,
  messageCreatedAt: z.number(),
  /** Where the answer goes after its first message: the message's channel, or the thread opened for it. */
  answerChannelId: id,
  /** The first message replies to the person's (false when the answer goes into a new thread). */
  replyFirst: z.boolean(),
  /** A DM: the run's memories stay private. */
  direct: z.boolean(),
  /** The person's words, as their turn is recorded. */
  goal: z.string().max(4_000),
  conversation: StoredConversation,
  /** The message's files, not fetched yet: a queued run's worker fetches them when it starts it. */
  attachments: StoredAttachments,
});
export type MentionSurface = z.output<typeof MentionSurface>;

/** Posts in the run's place; the first message replies to the person's when the answer is in its channel. */
export type MentionPost = (payload: string | MessageCreateOptions, first: boolean) => Promise<Message>;

export function mentionPoster(bot: BotApp, surface: MentionSurface): MentionPost {
  return async (payload, first) => {
    const options = typeof payload === 'string' ? { content: payload } : payload;
    if (surface.replyFirst && first) {
      // Not failing when the message was deleted meanwhile: the answer is still posted.
      return (await sendableChannel(bot.client, surface.messageChannelId)).send({ ...options, reply: { messageReference: surface.messageId, failIfNotExists: false } });
    }
    return (await sendableChannel(bot.client, surface.answerChannelId)).send(options);
  };
}

/** Approval requests are posted in the run's place, replying to the message when it is the first thing posted. */
export function mentionApprovals(post: MentionPost): PostRequest {
  return async (payload) => postedMessage(await post(payload, true));
}

/** Posts the answer and its files, then stores both turns with their message ids (a reply to either continues the conversation). */
export async function deliverMention(bot: BotApp, surface: MentionSurface, result: RunResult, post: MentionPost): Promise<void> {
  const files = await readAnswerFiles(result);
  const postedFiles = new Set<string>();
  // Delivered again after a crash mid-delivery (a resumed run), the parts already posted are not posted twice.
  const posted = await postAll(postedOnce(answerMessages(result, files, { retry: true }), result.runId), async (part, first) => {
    // The note naming refused files is a later message, never the reply itself.
    let replied = false;
    const { sent, filesPosted } = await sendPart(part, (p) => post(p, first && !replied).finally(() => (replied = true)), result.runId);
    if (filesPosted) for (const name of fileNames(part)) postedFiles.add(name);
    return sent;
  });
  await recordFilesOut(bot, result.runId, files, postedFiles);
  if (posted.length === 0) return;
  try {
    await bot.app.conversations.record(surface.conversation, [
      { role: 'user', authorId: surface.userId, authorName: surface.speakerName, text: surface.goal, runId: result.runId, messageIds: [surface.messageId], createdAt: surface.messageCreatedAt },
      { role: 'assistant', authorId: CAIRN_AUTHOR, authorName: 'Cairn', text: answerText(result), runId: result.runId, messageIds: posted, createdAt: postedAt(posted) },
    ]);
  } catch (error) {
    // The answer is out; only the next turn's context is poorer.
    bot.log.warn({ err: error, runId: result.runId, conversationId: surface.conversation.id }, 'could not store the conversation turns');
  }
}

/** Posts the parts in order; the ids of those posted (a later part failing is logged, the rest kept). */
async function postAll(parts: AnswerPart[], post: (payload: AnswerPart, first: boolean) => Promise<Message>): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, part] of parts.entries()) {
    // The first part failing fails the answer (the caller tells the person); a later one loses only itself.
    if (i === 0) ids.push((await post(part, true)).id);
    else ids.push(...(await post(part, false).then((m) => [m.id], () => [])));
  }
  return ids;
}


/**
 * When an answer was posted, by Discord's clock (its first message's id), like the person's turn:
 * turns are ordered by time, and one clock orders a reply after the answer it replies to.
 */
export function postedAt(messageIds: readonly string[]): number {
  const first = messageIds[0];
  return first === undefined ? Date.now() : SnowflakeUtil.timestampFrom(first);
}
