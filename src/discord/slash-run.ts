import { ChannelType, MessageFlags, RESTJSONErrorCodes, ThreadAutoArchiveDuration, type Message, type RepliableInteraction, type SendableChannels } from 'discord.js';
import { newRunId } from '../agent/agent.js';
import type { AgentMode, RunResult } from '../agent/events.js';
import { dmKey, messageKey, threadKey } from '../conversations/keys.js';
import { CAIRN_AUTHOR, type Conversation } from '../conversations/types.js';
import { answerMessages, answerText, EPHEMERAL_NO_PREVIEWS, fileNames, NO_PREVIEWS, sendPart, type AnswerPart } from './answer.js';
import { postedAt } from './conversation-run.js';
import type { PostRequest } from './approvals.js';
import { cancelRow } from './components.js';
import { callerOfInteraction, reserveRun, runSettings, type BotApp } from './context.js';
import { discordCode, explainDiscordError } from './errors.js';
import { RunView, type StepFile } from './run-view.js';
import { fetchingText, intakeNote, takeFiles } from './files-in.js';
import { readAnswerFiles, recordFilesOut } from './files-out.js';
import type { AttachmentRef } from '../files/types.js';
import type { ChatMessage } from '../llm/types.js';
import type { AskedMessage, RunSource } from '../runs/types.js';

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


/**
 * `/agent`: acknowledge at once, show a live status (with Cancel) and a thread of step summaries,
 * then post the answer with 👍/👎. Past the interaction token's lifetime everything continues in
 * the channel (or, for a private run, in a DM).
 */
export async function runFromSlash(interaction: RunInteraction, bot: BotApp, options: SlashRunOptions): Promise<RunResult | null> {
  const caller = callerOfInteraction(interaction);
  const ticket = reserveRun(bot, caller);
  if (typeof ticket === 'string') {
    // A retry may have acknowledged already (it waits for a lesson first).
    if (interaction.deferred) await interaction.editReply({ content: ticket });
    else await interaction.reply({ content: ticket, flags: MessageFlags.Ephemeral });
    return null;
  }
  let result: RunResult | null = null;
  const runId = newRunId();
  try {
    const ephemeral = options.private ? { flags: MessageFlags.Ephemeral as const } : {};
    // Run output shows no link previews (NO_PREVIEWS), ephemeral or not.
    const outputFlags = { flags: options.private ? EPHEMERAL_NO_PREVIEWS : NO_PREVIEWS };
    // The deferral's response carries the reply message: no separate fetch needed (Discord's
    // global request budget is the bottleneck when many runs start at once).
    const deferred = interaction.deferred ? null : await interaction.deferReply({ ...ephemeral, withResponse: true });
    const log = bot.log.child({ runId, userId: caller.userId });
    const tokenAlive = () => Date.now() - interaction.createdTimestamp < bot.tokenLifetimeMs;
    // The reply as a channel message: after the token expires it is edited with the bot token.
    let reply: Message | null = options.private ? null : (deferred?.resource?.message ?? null);
    if (!options.private && reply === null) reply = await interaction.fetchReply();

    // What became of the files sent with the goal stays under the status for the whole run.
    let filesLine = '';
    const status = async (content: string, running: boolean) => {
      const notes = [options.notice ?? '', filesLine].filter((n) => n !== '').join('\n');
      const payload = { content: withNote(content, notes), components: running ? [cancelRow(runId)] : [], allowedMentions: { parse: [] }, flags: NO_PREVIEWS };
      if (tokenAlive()) await interaction.editReply(payload);
      else if (reply !== null) await reply.edit(payload);
    };
    const controller = new AbortController();
    let step: ((content: string, files: StepFile[]) => Promise<void>) | undefined;
    // The run's thread is its conversation's: a mention there (or a reply to the answer) continues it.
    let threadConversation: Conversation | null = null;
    let answerThread: SendableChannels | undefined;
    const channel = interaction.channel;
    if (reply !== null && channel !== null && (channel.type === ChannelType.GuildText || channel.type === ChannelType.GuildAnnouncement)) {
      try {
        const threadOptions = { name: `Run: ${options.goal}`.slice(0, 90), autoArchiveDuration: ThreadAutoArchiveDuration.OneHour };
        const thread = options.threadOn === undefined ? await reply.startThread(threadOptions) : await channel.threads.create({ ...threadOptions, startMessage: options.threadOn });
        if (options.threadOn !== undefined) answerThread = thread;
        // Started with the thread, so a mention in it during the run already belongs to it.
        threadConversation = await startThreadConversation(bot, interaction, thread.id, reply.id);
        // Steps quote the model and tool output: no mention in them may ping anyone.
        step = async (content, files) => {
          const attached = files.map((f) => ({ attachment: Buffer.from(f.content, 'utf8'), name: f.name }));
          await thread.send({ content, allowedMentions: { parse: [] }, flags: NO_PREVIEWS, ...(attached.length === 0 ? {} : { files: attached }) });
        };
      } catch (error) {
        // No permission to create threads here: steps are shown inline in the status message.
        log.info({ err: error }, 'no thread for this run; showing steps inline');
      }
    }

    const view = new RunView({
      status,
      ...(step === undefined ? {} : { step }),
      onError: (error, what) => {
        log.warn({ err: error }, `could not ${what}`);
      },
    });
    // Approval requests go to the starter as follow-ups (private runs: ephemeral; past the token's
    // lifetime: the channel, or a DM for private runs).
    const postApproval: PostRequest = async (payload) => {
      if (tokenAlive()) {
        const message = await interaction.followUp({ ...payload, ...outputFlags });
        return {
          edit: async (content) => {
            await interaction.editReply({ message, content, components: [] });
          },
        };
      }
      const target = options.private ? await interaction.user.createDM() : await bot.client.channels.fetch(interaction.channelId ?? caller.channelId);
      if (target?.isSendable() !== true) throw new Error('no place to post the approval request');
      const message = await target.send(payload);
      return {
        edit: async (content) => {
          await message.edit({ content, components: [] });
        },
      };
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
    const run = (async () => {
      // Fetched once the run is registered: Cancel, /runs cancel and shutdown reach a slow download.
      const refs = options.attachments ?? [];
      if (refs.length > 0) await status(fetchingText(refs.length), true).catch(() => undefined);
      const intake = await takeFiles(bot, refs, controller.signal);
      filesLine = intakeNote(intake);
      const { limits: placeLimits, ...placeOptions } = runSettings(bot, { guildId: interaction.guildId, channelId: caller.channelId, threadId: interaction.channel?.isThread() === true ? interaction.channelId : null }, options.mode);
      const outcome = await bot.app.agent.run({
        ...placeOptions,
        goal: options.goal,
        runId,
        signal: controller.signal,
        sinks: [view.sink],
        ...(intake.files.length === 0 ? {} : { files: intake.files }),
        scope: { userId: caller.userId, userName: interaction.user.username, channelId: interaction.channelId ?? caller.channelId, ...(interaction.guildId === null ? {} : { guildId: interaction.guildId }) },
        trigger: 'slash',
        visibility: options.private ? 'private' : 'channel',
        ...(options.history === undefined ? {} : { history: options.history.messages, historyFromOthers: options.history.fromOthers }),
        limits: { ...placeLimits, maxCostUsd: ticket.capUsd },
        approver: bot.approvals.approverFor(caller.userId, runId, postApproval, (error) => {
          log.warn({ err: error }, 'could not update an approval request');
        }),
      });
      await view.settled();
      const into = options.conversation ?? threadConversation;
      await bot.app.conversations.during(
        into?.id ?? null,
        (async () => {
          const answerIds = await postAnswer(interaction, bot, outcome, options.private, tokenAlive(), answerThread);
          // A private run's replies are ephemeral: nobody can reply to them, and its turns stay its own.
          if (!options.private && answerIds.length > 0) await recordRun(interaction, bot, { result: outcome, conversation: into, statusId: reply?.id ?? null, answerIds });
        })(),
      );
      return outcome;
    })();
    bot.runs.add({ runId, userId: caller.userId, channelId: interaction.channelId, guildId: interaction.guildId, private: options.private, scheduled: false, controller, done: run });
    result = await run;
    return result;
  } finally {
    ticket.finish(result?.costUsd ?? null, runId);
  }
}

/** The status with notes under it (files taken and refused), within Discord's 2,000 characters. */
function withNote(content: string, note: string): string {
  if (note === '') return content;
  const shownNote = note.slice(0, 900);
  return `${content.slice(0, 2_000 - shownNote.length - 1)}\n${shownNote}`;
}

/** Posts the answer and its files; the ids of the messages posted. */
async function postAnswer(interaction: RunInteraction, bot: BotApp, result: RunResult, privately: boolean, tokenAlive: boolean, into?: SendableChannels): Promise<string[]> {
  // Every run started here keeps a run record: its starter may retry it.
  // A private run's files go where its answer goes: the ephemeral follow-up or the starter's DM.
  const files = await readAnswerFiles(result, interaction.attachmentSizeLimit);
  const messages = answerMessages(result, files, { retry: true });
  const postedFiles = new Set<string>();
  const posted: string[] = [];
  let viaToken = tokenAlive;
  const send = async (message: AnswerPart): Promise<string> => {
    // Ask Cairn in a thread: the answer goes under the message it is about.
    if (into !== undefined) return (await into.send({ ...message, allowedMentions: { parse: [] } })).id;
    if (viaToken) {
      try {
        return (await interaction.followUp({ ...message, flags: privately ? EPHEMERAL_NO_PREVIEWS : NO_PREVIEWS })).id;
      } catch (error) {
        // The token died earlier than we counted (clock skew, a slow Discord): use the bot token.
        if (discordCode(error) !== RESTJSONErrorCodes.InvalidWebhookToken && discordCode(error) !== RESTJSONErrorCodes.UnknownWebhook) throw error;
        viaToken = false;
      }
    }
    if (privately) return (await interaction.user.send(message)).id;
    const channelId = interaction.channelId ?? callerOfInteraction(interaction).channelId;
    const channel = await bot.client.channels.fetch(channelId);
    if (channel?.isSendable() !== true) throw new Error(`channel ${channelId} cannot be written to`);
    return (await channel.send(message)).id;
  };
  try {
    for (const message of messages) {
      const { sent, filesPosted } = await sendPart(message, send, result.runId);
      posted.push(sent);
      if (filesPosted) for (const name of fileNames(message)) postedFiles.add(name);
    }
  } catch (error) {
    bot.log.warn({ err: error, runId: result.runId }, 'could not post the answer');
    // Tell the user where we can: the failure is Discord's, not the run's.
    await interaction.user.send(`I finished run \`${result.runId}\` but could not post the answer: ${explainDiscordError(error)}`).catch(() => undefined);
  }
  await recordFilesOut(bot, result.runId, files, postedFiles);
  return posted;
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

/**
 * The run's goal and answer become a conversation's first turns: its thread's (when it has one),
 * else a reply chain from the answer; in a DM, the DM's. Started inside a thread Cairn converses
 * in, they join that thread's conversation.
 */
async function recordRun(
  interaction: RunInteraction,
  bot: BotApp,
  run: { result: RunResult; conversation: Conversation | null; statusId: string | null; answerIds: string[] },
): Promise<void> {
  const { conversations } = bot.app;
  const { result } = run;
  const caller = callerOfInteraction(interaction);
  const direct = interaction.guildId === null;
  try {
    const channelId = interaction.channelId ?? caller.channelId;
    const here = direct ? dmKey(channelId) : threadKey(channelId);
    const conversation =
      run.conversation ??
      (await conversations.find([here])) ??
      (direct
        ? await conversations.start({ kind: 'dm', visibility: 'private', ownerId: caller.userId, guildId: null, channelId: interaction.channelId }, [here])
        : await conversations.start({ kind: 'chain', visibility: 'channel', ownerId: null, guildId: interaction.guildId, channelId: caller.channelId }, []));
    const name = interaction.inCachedGuild() ? interaction.member.displayName : interaction.user.displayName;
    await conversations.record(
      conversation,
      [
        { role: 'user', authorId: caller.userId, authorName: name, text: result.goal, runId: result.runId, messageIds: [], createdAt: interaction.createdTimestamp },
        { role: 'assistant', authorId: CAIRN_AUTHOR, authorName: 'Cairn', text: answerText(result), runId: result.runId, messageIds: run.answerIds, createdAt: postedAt(run.answerIds) },
      ],
      run.statusId === null ? [] : [messageKey(run.statusId)],
    );
  } catch (error) {
    // The answer is out; only a follow-up's context is poorer.
    bot.log.warn({ err: error, runId: result.runId }, 'could not store the run as a conversation');
  }
}
