/**
 * What every interaction-started run (/agent, 🔁 Retry, Ask Cairn) does first, whether it runs
 * here or is queued for a worker: acknowledge, open the run's thread (and its conversation), keep
 * its record for Retry, and say what it is asked with the place's settings.
 */
import { ChannelType, MessageFlags, ThreadAutoArchiveDuration, type Message, type RepliableInteraction } from 'discord.js';
import type { RunRequest } from '../agent/agent.js';
import type { AgentMode } from '../agent/events.js';
import { messageKey, threadKey } from '../conversations/keys.js';
import type { Conversation } from '../conversations/types.js';
import type { AttachmentRef } from '../files/types.js';
import type { ChatMessage } from '../llm/types.js';
import type { Logger } from '../log.js';
import type { AskedMessage, RunSource } from '../runs/types.js';
import { callerOfInteraction, runSettings, type BotApp } from './context.js';
import type { SlashSurface } from './slash-place.js';
import type { InteractionReplies } from './slash-targets.js';

/** Interactions that start runs: `/agent`, the 🔁 Retry button, the "Ask Cairn" modal. */
export type RunInteraction = RepliableInteraction;

export interface SlashRunOptions {
  goal: string;
  /** The mode chosen; without one, the place's default mode (settings). */
  mode?: AgentMode;
  /** Every reply ephemeral, no thread, memories of the run kept private. */
  private: boolean;
  /** Files in, as Discord gave them: downloaded from its CDN into the run's workspace. */
  attachments?: AttachmentRef[];
  /** What started it (kept in the run's record); default 'slash'. */
  source?: RunSource;
  /** The run this one retries (🔁 Retry). */
  retryOf?: string;
  /**
   * Earlier turns the run sees (Ask Cairn: the message it was asked about), and which of them
   * other people wrote: those are untrusted (src/agent/exposure.ts).
   */
  history?: { messages: ChatMessage[]; fromOthers: number[] };
  /** Ask Cairn: the message (in this channel) to start the run's thread on; steps and the answer go there. */
  threadOn?: string;
  /** A line shown under the status while it runs and after (Retry: "applying the lesson from your 👎"). */
  notice?: string;
  /** What Ask Cairn was asked about, kept in the run record so that a retry sees it again. */
  askedAbout?: AskedMessage;
  /** 🔁 Retry of an answer in a conversation: the retry's turns join it, so a reply to its answer continues it. */
  conversation?: Conversation;
}


export /** A refusal, privately (a retry may have acknowledged already: it waits for a lesson first). */
async function refuse(interaction: RunInteraction, text: string): Promise<void> {
  if (interaction.deferred) await interaction.editReply({ content: text });
  else await interaction.reply({ content: text, flags: MessageFlags.Ephemeral });
}

/**
 * Acknowledges the interaction, opens the run's thread (and its conversation), keeps the run's
 * record for Retry, and returns where the run is shown.
 */
export async function openPlace(interaction: RunInteraction, bot: BotApp, options: SlashRunOptions, runId: string): Promise<{ log: Logger; replies: InteractionReplies; surface: SlashSurface }> {
  const caller = callerOfInteraction(interaction);
  const ephemeral = options.private ? { flags: MessageFlags.Ephemeral as const } : {};
  // The deferral's response carries the reply message: no separate fetch needed (Discord's
  // global request budget is the bottleneck when many runs start at once).
  const deferred = interaction.deferred ? null : await interaction.deferReply({ ...ephemeral, withResponse: true });
  const log = bot.log.child({ runId, userId: caller.userId });
  // The reply as a channel message: after the token expires it is edited with the bot token.
  let reply: Message | null = options.private ? null : (deferred?.resource?.message ?? null);
  if (!options.private && reply === null) reply = await interaction.fetchReply();
  // The run's thread is its conversation's: a mention there (or a reply to the answer) continues it.
  let threadConversation: Conversation | null = null;
  let threadId: string | null = null;
  const channel = interaction.channel;
  if (reply !== null && channel !== null && (channel.type === ChannelType.GuildText || channel.type === ChannelType.GuildAnnouncement)) {
    try {
      const threadOptions = { name: `Run: ${options.goal}`.slice(0, 90), autoArchiveDuration: ThreadAutoArchiveDuration.OneHour };
      const thread = options.threadOn === undefined ? await reply.startThread(threadOptions) : await channel.threads.create({ ...threadOptions, startMessage: options.threadOn });
      threadId = thread.id;
      // Started with the thread, so a mention in it during the run already belongs to it.
      threadConversation = await startThreadConversation(bot, interaction, thread.id, reply.id);
    } catch (error) {
      // No permission to create threads here: steps are shown inline in the status message.
      log.info({ err: error }, 'no thread for this run; showing steps inline');
    }
  }
  const surface: SlashSurface = {
    kind: 'slash',
    runId,
    userId: caller.userId,
    userName: interaction.user.username,
    displayName: interaction.inCachedGuild() ? interaction.member.displayName : interaction.user.displayName,
    guildId: interaction.guildId,
    channelId: interaction.channelId ?? caller.channelId,
    parentChannelId: caller.channelId,
    private: options.private,
    applicationId: interaction.applicationId,
    token: interaction.token,
    createdAt: interaction.createdTimestamp,
    attachmentSizeLimit: interaction.attachmentSizeLimit,
    statusMessageId: reply?.id ?? null,
    threadId,
    answerInThread: options.threadOn !== undefined && threadId !== null,
    notes: options.notice ?? '',
    conversation: options.conversation ?? threadConversation,
    attachments: [],
  };
  // Kept so that the starter can retry it with the same goal, files and mode, even after a restart.
  await bot.app.runRecords
    .save({
      runId,
      userId: caller.userId,
      guildId: interaction.guildId,
      channelId: interaction.channelId ?? caller.channelId,
      goal: options.goal,
      mode: options.mode ?? null,
      private: options.private,
      source: options.source ?? 'slash',
      attachments: options.attachments ?? [],
      retryOf: options.retryOf ?? null,
      filesOut: [],
      createdAt: Date.now(),
      ...(options.askedAbout === undefined ? {} : { askedAbout: options.askedAbout }),
    })
    .catch((error: unknown) => {
      log.warn({ err: error }, 'could not keep the run record; Retry will not be offered for it');
    });
  return { log, replies: interactionReplies(interaction), surface };
}

/** What the run is asked, with the place's settings: everything but its live parts (view, approver, signal, files). */
export function slashRequest(interaction: RunInteraction, bot: BotApp, options: SlashRunOptions, runId: string): RunRequest & { runId: string } {
  const caller = callerOfInteraction(interaction);
  const placeOptions = runSettings(bot, { guildId: interaction.guildId, channelId: caller.channelId, threadId: interaction.channel?.isThread() === true ? interaction.channelId : null }, options.mode);
  return {
    ...placeOptions,
    goal: options.goal,
    runId,
    scope: { userId: caller.userId, userName: interaction.user.username, channelId: interaction.channelId ?? caller.channelId, ...(interaction.guildId === null ? {} : { guildId: interaction.guildId }) },
    trigger: 'slash',
    visibility: options.private ? 'private' : 'channel',
    ...(options.history === undefined ? {} : { history: options.history.messages, historyFromOthers: options.history.fromOthers }),
  };
}

export function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** An interaction's replies (the live run's; a resumed run uses a webhook on the stored token). */
function interactionReplies(interaction: RunInteraction): InteractionReplies {
  return {
    editOriginal: async (payload) => {
      await interaction.editReply(payload);
    },
    followUp: async (payload) => {
      const message = await interaction.followUp(payload);
      return {
        id: message.id,
        edit: async (content) => {
          await interaction.editReply({ message, content, components: [] });
        },
      };
    },
  };
}

/** The conversation of a run's thread (null, logged, when it cannot be stored: the run goes on). */
async function startThreadConversation(bot: BotApp, interaction: RunInteraction, threadId: string, statusId: string): Promise<Conversation | null> {
  const channelId = callerOfInteraction(interaction).channelId;
  return bot.app.conversations
    .start({ kind: 'thread', visibility: 'channel', ownerId: null, guildId: interaction.guildId, channelId }, [threadKey(threadId), messageKey(statusId)])
    .catch((error: unknown) => {
      bot.log.warn({ err: error, threadId }, "could not store the run's thread as a conversation");
      return null;
    });
}
