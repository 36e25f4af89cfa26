import { SnowflakeUtil, type Message, type MessageCreateOptions, type SendableChannels } from 'discord.js';
import type { RunResult } from '../agent/events.js';
import { dmKey, messageKey, threadKey } from '../conversations/keys.js';
import { CAIRN_AUTHOR, type Conversation } from '../conversations/types.js';
import type { Caller, RunTicket } from './access.js';
import type { AttachmentRef } from '../files/types.js';
import { answerMessages, answerText, fileNames, sendPart, type AnswerPart } from './answer.js';
import { splitMessage } from './chunk.js';
import { intakeNote, takeFiles } from './files-in.js';
import { readAnswerFiles, recordFilesOut } from './files-out.js';
import { runSettings, type BotApp } from './context.js';
import { discordCode, explainDiscordError } from './errors.js';

/** Where the answer goes: a reply to the person's message, or a thread opened for it. */
export type AnswerTarget = { kind: 'reply' } | { kind: 'thread'; channel: SendableChannels };

export interface ConversationAnswer {
  goal: string;
  direct: boolean;
  ticket: RunTicket;
  caller: Caller;
  runId: string;
  conversation: Conversation;
  target: AnswerTarget;
  /** The message's attachments, as Discord gave them: downloaded from its CDN into the run's workspace. */
  attachments: AttachmentRef[];
}

const MAX_GOAL_CHARS = 4_000;

/**
 * Runs the agent on the message with the conversation so far, posts the answer with 👍/👎, then
 * stores both turns (the message's and the answer's, with their message ids so a reply to either
 * continues the conversation). Turns are stored once the answer is out: what people saw.
 */
export async function answerInConversation(message: Message, bot: BotApp, request: ConversationAnswer): Promise<void> {
  const { runId, ticket, caller, direct, target } = request;
  const speaker = { id: caller.userId, name: message.member?.displayName ?? message.author.displayName };
  const channel: SendableChannels | null = target.kind === 'thread' ? target.channel : message.channel.isSendable() ? message.channel : null;
  // The first message replies to the person's message where it is in the same channel.
  const post = async (payload: string | MessageCreateOptions, first: boolean): Promise<Message> => {
    if (target.kind === 'reply' && first) return message.reply(payload);
    if (channel === null) throw new Error('no channel to answer in');
    return channel.send(payload);
  };
  let cost: number | null = null;
  const controller = new AbortController();
  // "Cairn is typing…" while it works (Discord shows it for ~10 s per call).
  const showTyping = () => {
    channel?.sendTyping().catch(() => undefined);
  };
  const typing = setInterval(showTyping, 8_000);
  typing.unref();
  try {
    showTyping();
    const done = (async (): Promise<RunResult> => {
      await keepRecord(message, bot, request);
      const intake = await takeFiles(bot, request.attachments, controller.signal);
      // Files refused are named at once, with the reason; the run goes on with the rest.
      if (intake.refused.length > 0) await tellRefused(intakeNote({ files: [], refused: intake.refused }), post, bot.log);
      const conversation = bot.app.conversations.isFull(request.conversation) ? await continueFromSummary(message, bot, request) : request.conversation;
      const prior = await bot.app.conversations.forRun(conversation, speaker);
      const threadId = message.channel.isThread() ? message.channelId : target.kind === 'thread' ? target.channel.id : null;
      const { limits: placeLimits, ...placeOptions } = runSettings(bot, { guildId: message.guildId, channelId: caller.channelId, threadId });
      const result = await bot.app.agent.run({
        ...placeOptions,
        goal: request.goal.slice(0, MAX_GOAL_CHARS),
        runId,
        signal: controller.signal,
        ...(intake.files.length === 0 ? {} : { files: intake.files }),
        scope: { userId: caller.userId, userName: message.author.username, channelId: caller.channelId, ...(message.guildId === null ? {} : { guildId: message.guildId }) },
        trigger: 'mention',
        visibility: direct ? 'private' : 'channel',
        history: prior.history,
        historyFromOthers: prior.historyFromOthers,
        ...(prior.briefing === null ? {} : { briefing: prior.briefing }),
        limits: { ...placeLimits, maxCostUsd: ticket.capUsd },
        approver: bot.approvals.approverFor(
          caller.userId,
          runId,
          async (payload) => {
            const posted = await post(payload, true);
            return {
              ref: { channelId: posted.channelId, messageId: posted.id },
              edit: async (content) => {
                await posted.edit({ content, components: [] });
              },
            };
          },
          (error) => {
            bot.log.warn({ err: error, runId }, 'could not update an approval request');
          },
        ),
      });
      cost = result.costUsd;
      clearInterval(typing);
      await bot.app.conversations.during(
        conversation.id,
        (async () => {
          const files = await readAnswerFiles(result);
          const postedFiles = new Set<string>();
          const posted = await postAll(answerMessages(result, files, { retry: true }), async (part, first) => {
            // The note naming refused files is a later message, never the reply itself.
            let replied = false;
            const { sent, filesPosted } = await sendPart(part, (p) => post(p, first && !replied).finally(() => (replied = true)), runId);
            if (filesPosted) for (const name of fileNames(part)) postedFiles.add(name);
            return sent;
          });
          await recordFilesOut(bot, runId, files, postedFiles);
          if (posted.length > 0) await record(message, bot, { conversation, speaker, result, goal: request.goal, posted });
        })(),
      );
      return result;
    })();
    bot.runs.add({ runId, userId: caller.userId, channelId: channel?.id ?? message.channelId, guildId: message.guildId, private: direct, scheduled: false, controller, done });
    await done;
  } catch (error) {
    bot.log.warn({ err: error, runId }, 'could not answer a message');
    const why = discordCode(error) === undefined ? `something went wrong on my side (run \`${runId}\`).` : explainDiscordError(error);
    await message.author.send(`I could not answer your message: ${why}`).catch(() => undefined);
  } finally {
    clearInterval(typing);
    ticket.finish(cost, runId);
  }
}

/**
 * A record of the run (`/runs show` says where its files went). A failure is logged: the answer
 * matters more than its record.
 */
async function keepRecord(message: Message, bot: BotApp, request: ConversationAnswer): Promise<void> {
  await bot.app.runRecords
    .save({
      runId: request.runId,
      userId: request.caller.userId,
      guildId: message.guildId,
      channelId: message.channelId,
      goal: request.goal.slice(0, MAX_GOAL_CHARS),
      mode: null,
      private: request.direct,
      source: 'mention',
      attachments: request.attachments,
      retryOf: null,
      filesOut: [],
      createdAt: Date.now(),
    })
    .catch((error: unknown) => {
      bot.log.warn({ err: error, runId: request.runId }, 'could not keep the run record');
    });
}

/** Names the files not taken, in as many messages as it needs; a failure is logged (the run goes on). */
async function tellRefused(note: string, post: (payload: MessageCreateOptions, first: boolean) => Promise<Message>, log: BotApp['log']): Promise<void> {
  try {
    for (const [i, content] of splitMessage(note).entries()) await post({ content, allowedMentions: { parse: [] } }, i === 0);
  } catch (error) {
    log.warn({ err: error }, 'could not say which files were not taken');
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

async function record(
  message: Message,
  bot: BotApp,
  turn: { conversation: Conversation; speaker: { id: string; name: string }; result: RunResult; goal: string; posted: string[] },
): Promise<void> {
  try {
    await bot.app.conversations.record(turn.conversation, [
      { role: 'user', authorId: turn.speaker.id, authorName: turn.speaker.name, text: turn.goal, runId: turn.result.runId, messageIds: [message.id], createdAt: message.createdTimestamp },
      { role: 'assistant', authorId: CAIRN_AUTHOR, authorName: 'Cairn', text: answerText(turn.result), runId: turn.result.runId, messageIds: turn.posted, createdAt: postedAt(turn.posted) },
    ]);
  } catch (error) {
    // The answer is out; only the next turn's context is poorer.
    bot.log.warn({ err: error, runId: turn.result.runId, conversationId: turn.conversation.id }, 'could not store the conversation turns');
  }
}

/**
 * A conversation past the turns kept says so and continues from a summary: a new conversation
 * whose first turn is the summary, reached from the same thread or DM and by replying to the note.
 */
async function continueFromSummary(message: Message, bot: BotApp, request: ConversationAnswer): Promise<Conversation> {
  const { conversations } = bot.app;
  const place = message.channel.isThread() ? [threadKey(message.channel.id)] : request.direct ? [dmKey(message.channelId)] : [];
  // Dated just before the message it answers, so the summary comes first in the new conversation.
  const { next, summary } = await conversations.continueFromSummary(request.conversation, place, message.createdTimestamp - 1);
  const where = place.length > 0 ? 'It carries on here from this summary' : 'Reply to this message to carry on from this summary';
  const note = await message.reply(
    `🧵 This conversation reached ${conversations.limits.maxTurns} turns, the most I keep for one, so I no longer see its earlier turns. ${where}:\n>>> ${summary}`.slice(0, 2_000),
  );
  await conversations.store.link(next, [messageKey(note.id)]);
  return next;
}
