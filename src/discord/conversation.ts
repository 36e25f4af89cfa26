import { ChannelType, MessageType, ThreadAutoArchiveDuration, type Message } from 'discord.js';
import { newRunId } from '../agent/agent.js';
import { dmKey, messageKey, threadKey } from '../conversations/keys.js';
import type { Conversation, ConversationPlace } from '../conversations/types.js';
import { oneLine } from '../text.js';
import { callerOfMessage, gate, reserveQueuedRun, reserveRun, type BotApp } from './context.js';
import type { Caller, RunTicket } from './access.js';
import type { QueuedRuns } from '../queue/queued-runs.js';
import { isQueued, type QueuedStart } from './run-line.js';
import { answerInConversation, queueConversationAnswer, type AnswerTarget } from './conversation-run.js';
import { attachmentRefs } from './files-in.js';

/** The goal of a message that is only files. */
const FILES_ONLY_GOAL = 'Look at the attached files and tell me briefly what they contain.';

/**
 * Messages Cairn answers, each continuing its conversation (src/conversations): any DM; a mention;
 * a reply to one of its messages (Discord delivers a reply that pings Cairn as a mention); and,
 * with CAIRN_MESSAGE_CONTENT=on, every message in its own threads and every reply to it. Without
 * the privileged Message Content intent Discord sends others' guild messages with empty content
 * unless they mention Cairn, so without it Cairn answers mentions and DMs only. Bots, webhooks
 * and system messages are ignored, and so are channels whose policy turns mentions off — silently:
 * a reply or a DM there would be the noise the setting exists to stop.
 */
export async function handleMessage(message: Message, bot: BotApp): Promise<void> {
  const me = bot.client.user;
  if (me === null || message.author.bot || message.webhookId !== null || message.system) return;
  const direct = message.channel.isDMBased();
  const mentioned = message.mentions.users.has(me.id);
  const ambient = !direct && !mentioned;
  const replyTo = message.type === MessageType.Reply ? (message.reference?.messageId ?? null) : null;
  const thread = message.channel.isThread() ? message.channel : null;
  // Without the intent an unmentioned guild message has no text: nothing to look up. With it, only
  // messages in threads Cairn made and replies to Cairn's messages may be its business.
  const toCairn = (replyTo !== null && message.mentions.repliedUser?.id === me.id) || thread?.ownerId === me.id;
  if (ambient && (!bot.app.config.discord.messageContent || !toCairn)) return;

  const place: ConversationPlace = {
    guildId: message.guildId,
    channelId: thread?.parentId ?? message.channelId,
    ...(thread === null ? {} : { threadId: thread.id }),
  };
  if (!direct && !bot.conversationPolicy.mentions(place)) {
    bot.log.debug({ channelId: message.channelId }, 'mentions are off here; message not answered');
    return;
  }
  // Preferred first: the message replied to, then the thread, then the DM.
  const keys = [...(replyTo === null ? [] : [messageKey(replyTo)]), ...(thread === null ? [] : [threadKey(thread.id)]), ...(direct ? [dmKey(message.channelId)] : [])];
  let conversation = await bot.app.conversations.find(keys);
  // A reply to Cairn's message that finds nothing may be quicker than the answer's record.
  if (conversation === undefined && replyTo !== null && message.mentions.repliedUser?.id === me.id) conversation = await bot.app.conversations.find(keys, { settled: true });
  // Unmentioned messages are answered only where Cairn already converses (its threads, replies to it).
  if (ambient && conversation === undefined) return;
  if (ambient && message.content.trim() === '') return;

  const caller = callerOfMessage(message);
  // Refusals go to the person alone (channel replies are public); an unmentioned message gets none.
  const refuse = async (text: string) => {
    if (!ambient) await (direct ? message.reply(text) : message.author.send(text)).catch(() => undefined);
  };
  const refusal = gate(bot, caller);
  if (refusal !== null) {
    await refuse(refusal);
    return;
  }
  const attachments = attachmentRefs(message.attachments.values());
  const text = message.content.replaceAll(new RegExp(`<@!?${me.id}>`, 'g'), '').trim();
  const goal = text === '' && attachments.length > 0 ? FILES_ONLY_GOAL : text;
  if (goal === '') {
    await message.reply('Ask me something, or give me a goal — for example: “@Cairn summarise this week’s notes”. `/help` lists everything.');
    return;
  }
  const admitted = await admit(bot, caller, message);
  if (typeof admitted === 'string') {
    await refuse(admitted);
    return;
  }
  // A private conversation is its owner's alone, in their DM; none crosses servers, whatever a
  // message's reference says (Discord keeps replies in their channel; this does not rely on it).
  if (conversation !== undefined && conversation.visibility === 'private' && (!direct || conversation.ownerId !== caller.userId)) conversation = undefined;
  if (conversation !== undefined && conversation.visibility !== 'private' && conversation.guildId !== message.guildId) conversation = undefined;
  const runId = newRunId();
  let started: { conversation: Conversation; target: AnswerTarget };
  try {
    started = conversation === undefined ? await startConversation(message, bot, { direct, place, goal }) : { conversation, target: { kind: 'reply' } };
  } catch (error) {
    admitted.ticket?.finish(null, runId);
    throw error;
  }
  if (admitted.ticket === null) await queueConversationAnswer(message, bot, { goal, direct, caller, runId, attachments, ...started }, admitted.queue);
  else await answerInConversation(message, bot, { goal, direct, ticket: admitted.ticket, caller, runId, attachments, ...started });
}

/**
 * Whether the answer may start, and where: queued for a worker (which holds its slot and budget
 * share when it takes it), or here with a ticket (after waiting its turn for a slot); a refusal as text.
 */
async function admit(bot: BotApp, caller: Caller, message: Message): Promise<{ queue: QueuedRuns; ticket: null } | { queue: null; ticket: RunTicket } | string> {
  if (bot.queue !== undefined) return reserveQueuedRun(bot, caller) ?? { queue: bot.queue, ticket: null };
  const reserved = reserveRun(bot, caller);
  if (typeof reserved === 'string') return reserved;
  const ticket = isQueued(reserved) ? await waitInLine(message, reserved) : reserved;
  return typeof ticket === 'string' ? ticket : { queue: null, ticket };
}

/**
 * A new conversation for this message: the DM's; with threads on, a thread opened on the message
 * (where threads can be made); else a reply chain rooted at it.
 */
async function startConversation(message: Message, bot: BotApp, at: { direct: boolean; place: ConversationPlace; goal: string }): Promise<{ conversation: Conversation; target: AnswerTarget }> {
  const { conversations } = bot.app;
  if (at.direct) {
    const conversation = await conversations.start({ kind: 'dm', visibility: 'private', ownerId: message.author.id, guildId: null, channelId: message.channelId }, [dmKey(message.channelId)]);
    return { conversation, target: { kind: 'reply' } };
  }
  const shared = { visibility: 'channel' as const, ownerId: null, guildId: message.guildId, channelId: at.place.channelId };
  const channelType = message.channel.type;
  if ((channelType === ChannelType.GuildText || channelType === ChannelType.GuildAnnouncement) && bot.conversationPolicy.threads(at.place)) {
    const thread = await message
      .startThread({ name: oneLine(at.goal, 90) || 'Conversation with Cairn', autoArchiveDuration: ThreadAutoArchiveDuration.OneDay })
      .catch((error: unknown) => {
        // No permission to create threads here (or Discord refused): the answer is a reply instead.
        bot.log.info({ err: error, channelId: message.channelId }, 'could not open a thread for a mention; replying in the channel');
        return null;
      });
    if (thread !== null) {
      const conversation = await conversations.start({ kind: 'thread', ...shared }, [threadKey(thread.id)]);
      return { conversation, target: { kind: 'thread', channel: thread } };
    }
  }
  return { conversation: await conversations.start({ kind: 'chain', ...shared }, []), target: { kind: 'reply' } };
}

/** All slots are taken: one note with the place in line (no edits: each is a request), then wait for the turn. */
async function waitInLine(message: Message, place: QueuedStart<RunTicket>): Promise<RunTicket | string> {
  const position = place.position();
  await message.reply({ content: `⏳ I'm busy with other runs: yours is number ${position} in line and starts as soon as one ends.`, allowedMentions: { parse: [] } }).catch(() => undefined);
  return place.ready;
}
