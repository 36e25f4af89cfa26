import type { Message, MessageCreateOptions, SendableChannels } from 'discord.js';
import type { RunRequest } from '../agent/agent.js';
import type { RunResult } from '../agent/events.js';
import type { QueuedRuns } from '../queue/queued-runs.js';
import { dmKey, messageKey, threadKey } from '../conversations/keys.js';
import type { Conversation } from '../conversations/types.js';
import type { Caller, RunTicket } from './access.js';
import type { AttachmentRef } from '../files/types.js';
import { splitMessage } from './chunk.js';
import { intakeNote, takeFiles } from './files-in.js';
import { runSettings, type BotApp } from './context.js';
import { deliverMention, mentionApprovals, type MentionSurface } from './mention-place.js';
import { RunSuspendedError } from '../agent/journal.js';
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
      const { surface, asked } = await mentionRun(message, bot, request, channel);
      const conversation = surface.conversation;
      bot.runs.markDurable(runId);
      const result = await bot.app.durable.run(
        {
          ...asked,
          signal: controller.signal,
          ...(intake.files.length === 0 ? {} : { files: intake.files }),
          limits: { ...asked.limits, maxCostUsd: ticket.capUsd },
          approver: bot.approvals.approverFor(caller.userId, runId, mentionApprovals(post), (error) => {
            bot.log.warn({ err: error, runId }, 'could not update an approval request');
          }),
        },
        surface,
        async (outcome) => {
          clearInterval(typing);
          await bot.app.conversations.during(conversation.id, deliverMention(bot, surface, outcome, post));
        },
      );
      cost = result.costUsd;
      return result;
    })();
    bot.runs.add({ runId, userId: caller.userId, channelId: channel?.id ?? message.channelId, guildId: message.guildId, private: direct, scheduled: false, controller, done });
    await done;
  } catch (error) {
    // Suspended by a shutdown: it resumes at the next start (the shutdown has said so).
    if (error instanceof RunSuspendedError) return;
    bot.log.warn({ err: error, runId }, 'could not answer a message');
    const why = discordCode(error) === undefined ? `something went wrong on my side (run \`${runId}\`).` : explainDiscordError(error);
    await message.author.send(`I could not answer your message: ${why}`).catch(() => undefined);
  } finally {
    clearInterval(typing);
    ticket.finish(cost, runId);
  }
}

/**
 * With a queue (src/queue): the run is recorded and queued for a worker, which fetches the
 * message's files, runs it and posts the answer. A run still waiting a moment later says so.
 */
export async function queueConversationAnswer(message: Message, bot: BotApp, request: Omit<ConversationAnswer, 'ticket'>, queue: QueuedRuns): Promise<void> {
  const channel: SendableChannels | null = request.target.kind === 'thread' ? request.target.channel : message.channel.isSendable() ? message.channel : null;
  try {
    await keepRecord(message, bot, request);
    const { surface, asked } = await mentionRun(message, bot, request, channel);
    await queue.enqueue(asked, { ...surface, attachments: request.attachments });
  } catch (error) {
    bot.log.warn({ err: error, runId: request.runId }, 'could not queue a run answering a message');
    await message.reply({ content: `⚠️ I could not start on this (run \`${request.runId}\`): my queue is unreachable. Try again in a minute.`, allowedMentions: { parse: [] } }).catch(() => undefined);
    return;
  }
  setTimeout(() => {
    void queue
      .place(request.runId)
      .then(async (place) => {
        if (place !== null) await message.reply({ content: `⏳ I'm busy with other runs: yours is number ${place} in line and starts as soon as a worker is free.`, allowedMentions: { parse: [] } });
      })
      .catch(() => undefined);
  }, QUEUE_NOTE_AFTER_MS).unref();
}

/** A queued run still waiting this long after it was queued says so (once: each note is a request). */
const QUEUE_NOTE_AFTER_MS = 2_000;

/**
 * Where the run is shown and what it is asked: the conversation so far (continued from a summary
 * when it is full), the place's settings; everything but its live parts.
 */
async function mentionRun(
  message: Message,
  bot: BotApp,
  request: Omit<ConversationAnswer, 'ticket'>,
  channel: SendableChannels | null,
): Promise<{ surface: MentionSurface; asked: RunRequest & { runId: string } }> {
  const { runId, caller, direct, target } = request;
  const speaker = { id: caller.userId, name: message.member?.displayName ?? message.author.displayName };
  const conversation = bot.app.conversations.isFull(request.conversation) ? await continueFromSummary(message, bot, request) : request.conversation;
  const prior = await bot.app.conversations.forRun(conversation, speaker);
  const threadId = message.channel.isThread() ? message.channelId : target.kind === 'thread' ? target.channel.id : null;
  const placeOptions = runSettings(bot, { guildId: message.guildId, channelId: caller.channelId, threadId });
  const surface: MentionSurface = {
    kind: 'mention',
    runId,
    userId: caller.userId,
    speakerName: speaker.name,
    guildId: message.guildId,
    messageId: message.id,
    messageChannelId: message.channelId,
    messageCreatedAt: message.createdTimestamp,
    answerChannelId: channel?.id ?? message.channelId,
    replyFirst: target.kind === 'reply',
    direct,
    goal: request.goal.slice(0, MAX_GOAL_CHARS),
    conversation,
    attachments: [],
  };
  const asked = {
    ...placeOptions,
    goal: request.goal.slice(0, MAX_GOAL_CHARS),
    runId,
    scope: { userId: caller.userId, userName: message.author.username, channelId: caller.channelId, ...(message.guildId === null ? {} : { guildId: message.guildId }) },
    trigger: 'mention' as const,
    visibility: direct ? ('private' as const) : ('channel' as const),
    history: prior.history,
    historyFromOthers: prior.historyFromOthers,
    ...(prior.briefing === null ? {} : { briefing: prior.briefing }),
  };
  return { surface, asked };
}

/**
 * A record of the run (`/runs show` says where its files went). A failure is logged: the answer
 * matters more than its record.
 */
async function keepRecord(message: Message, bot: BotApp, request: Omit<ConversationAnswer, 'ticket'>): Promise<void> {
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
export async function tellRefused(note: string, post: (payload: MessageCreateOptions, first: boolean) => Promise<Message>, log: BotApp['log']): Promise<void> {
  try {
    for (const [i, content] of splitMessage(note).entries()) await post({ content, allowedMentions: { parse: [] } }, i === 0);
  } catch (error) {
    log.warn({ err: error }, 'could not say which files were not taken');
  }
}

/**
 * A conversation past the turns kept says so and continues from a summary: a new conversation
 * whose first turn is the summary, reached from the same thread or DM and by replying to the note.
 */
async function continueFromSummary(message: Message, bot: BotApp, request: Omit<ConversationAnswer, 'ticket'>): Promise<Conversation> {
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
