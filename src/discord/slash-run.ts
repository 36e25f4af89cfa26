import { ChannelType, MessageFlags, ThreadAutoArchiveDuration, type Message, type RepliableInteraction } from 'discord.js';
import { newRunId, type RunRequest } from '../agent/agent.js';
import type { AgentMode, RunResult } from '../agent/events.js';
import { RunSuspendedError } from '../agent/journal.js';
import { messageKey, threadKey } from '../conversations/keys.js';
import type { Conversation } from '../conversations/types.js';
import type { RunTicket } from './access.js';
import { callerOfInteraction, reserveQueuedRun, reserveRun, runSettings, type BotApp } from './context.js';
import type { Logger } from '../log.js';
import type { QueuedRuns } from '../queue/queued-runs.js';
import { NO_PREVIEWS } from './answer.js';
import { cancelRow } from './components.js';
import { isQueued, type QueuedStart } from './run-line.js';
import { RunView } from './run-view.js';
import { fetchingText, intakeNote, takeFiles } from './files-in.js';
import type { SlashSurface } from './slash-place.js';
import { approvalPoster, deliverAnswer, viewTargets, withNote, type InteractionReplies } from './slash-targets.js';
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
  if (bot.queue !== undefined) {
    await queueFromSlash(interaction, bot, options, bot.queue);
    return null;
  }
  const caller = callerOfInteraction(interaction);
  const reserved = reserveRun(bot, caller);
  if (typeof reserved === 'string') {
    await refuse(interaction, reserved);
    return null;
  }
  const ticket = isQueued(reserved) ? await waitInLine(interaction, reserved, options.private) : reserved;
  if (typeof ticket === 'string') return null;
  let result: RunResult | null = null;
  const runId = newRunId();
  try {
    const { log, replies, surface: opened } = await openPlace(interaction, bot, options, runId);
    let surface = opened;
    const controller = new AbortController();
    const onError = (error: unknown, what: string) => {
      log.warn({ err: error }, `could not ${what}`);
    };
    const run = (async () => {
      // Fetched once the run is registered: Cancel, /runs cancel and shutdown reach a slow download.
      const refs = options.attachments ?? [];
      if (refs.length > 0) await viewTargets(bot, surface, replies, onError).status(fetchingText(refs.length), true).catch(() => undefined);
      const intake = await takeFiles(bot, refs, controller.signal);
      // What became of the files sent with the goal stays under the status for the whole run.
      surface = { ...surface, notes: [options.notice ?? '', intakeNote(intake)].filter((n) => n !== '').join('\n') };
      const view = new RunView(viewTargets(bot, surface, replies, onError));
      bot.runs.markDurable(runId);
      const request = slashRequest(interaction, bot, options, runId);
      return bot.app.durable.run(
        {
          ...request,
          signal: controller.signal,
          sinks: [view.sink],
          ...(intake.files.length === 0 ? {} : { files: intake.files }),
          limits: { ...request.limits, maxCostUsd: ticket.capUsd },
          approver: bot.approvals.approverFor(caller.userId, runId, approvalPoster(bot, surface, replies), (error) => {
            log.warn({ err: error }, 'could not update an approval request');
          }),
        },
        surface,
        async (outcome) => {
          await view.settled();
          await bot.app.conversations.during(surface.conversation?.id ?? null, deliverAnswer(bot, surface, replies, outcome));
        },
      );
    })();
    bot.runs.add({ runId, userId: caller.userId, channelId: interaction.channelId, guildId: interaction.guildId, private: options.private, scheduled: false, controller, done: run });
    result = await run;
    return result;
  } catch (error) {
    // Suspended by a shutdown: it resumes at the next start (the shutdown has said so).
    if (error instanceof RunSuspendedError) return null;
    throw error;
  } finally {
    ticket.finish(result?.costUsd ?? null, runId);
  }
}

/**
 * With a queue (src/queue): the run is acknowledged, shown and recorded here, then queued for a
 * worker, which fetches its files, runs it and posts its answer. Until a worker takes it, its
 * place in line is shown.
 */
async function queueFromSlash(interaction: RunInteraction, bot: BotApp, options: SlashRunOptions, queue: QueuedRuns): Promise<void> {
  const caller = callerOfInteraction(interaction);
  const refused = reserveQueuedRun(bot, caller);
  if (refused !== null) {
    await refuse(interaction, refused);
    return;
  }
  const runId = newRunId();
  const { log, replies, surface } = await openPlace(interaction, bot, options, runId);
  const request = slashRequest(interaction, bot, options, runId);
  const queued = { ...surface, attachments: options.attachments ?? [] };
  let place: number | null;
  try {
    place = await queue.enqueue(request, queued);
  } catch (error) {
    log.error({ err: error }, 'could not queue a run');
    await replies.editOriginal({ content: `⚠️ Cairn could not queue your run (run \`${runId}\`): its queue is unreachable. Try again in a minute.`, components: [], allowedMentions: { parse: [] }, flags: NO_PREVIEWS }).catch(() => undefined);
    return;
  }
  showPlace(bot, queued, replies, queue, place);
}

/** How often a queued run's place is shown again while it waits (each is an exempt interaction edit). */
const QUEUE_PLACE_MS = 3_000;

/** Keeps a queued run's place shown until a worker takes it (or its token is near its end). */
function showPlace(bot: BotApp, surface: SlashSurface, replies: InteractionReplies, queue: QueuedRuns, first: number | null): void {
  const until = surface.createdAt + bot.tokenLifetimeMs;
  const show = async (place: number | null): Promise<void> => {
    if (place === null || Date.now() > until || !bot.accepting()) return;
    await replies.editOriginal({ content: withNote(`⏳ Queued: **${ordinal(place)}** in line for a worker.`, surface.notes), components: [cancelRow(surface.runId)], allowedMentions: { parse: [] }, flags: NO_PREVIEWS }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, QUEUE_PLACE_MS).unref());
    // Looked up just before the edit: a worker that has taken the run owns its status from then on.
    await show(await queue.place(surface.runId).catch(() => null));
  };
  void show(first);
}

/** A refusal, privately (a retry may have acknowledged already: it waits for a lesson first). */
async function refuse(interaction: RunInteraction, text: string): Promise<void> {
  if (interaction.deferred) await interaction.editReply({ content: text });
  else await interaction.reply({ content: text, flags: MessageFlags.Ephemeral });
}

/**
 * Acknowledges the interaction, opens the run's thread (and its conversation), keeps the run's
 * record for Retry, and returns where the run is shown.
 */
async function openPlace(interaction: RunInteraction, bot: BotApp, options: SlashRunOptions, runId: string): Promise<{ log: Logger; replies: InteractionReplies; surface: SlashSurface }> {
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
function slashRequest(interaction: RunInteraction, bot: BotApp, options: SlashRunOptions, runId: string): RunRequest & { runId: string } {
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

/** How often a run waiting in line has its place updated (each update is a request). */
const LINE_UPDATE_MS = 2_000;

/**
 * All slots are taken: acknowledge at once (Discord's 3 s), show the run's place in line and keep
 * it current, and hand over the ticket when its turn comes — or say why it did not start.
 */
async function waitInLine(interaction: RunInteraction, place: QueuedStart<RunTicket>, privately: boolean): Promise<RunTicket | string> {
  if (!interaction.deferred) await interaction.deferReply(privately ? { flags: MessageFlags.Ephemeral } : {});
  let shown = 0;
  let timer: NodeJS.Timeout | undefined;
  const show = async () => {
    shown = Date.now();
    const position = place.position();
    if (position > 0) await interaction.editReply({ content: `⏳ Cairn is busy with other runs: yours is **${ordinal(position)}** in line and starts as soon as one ends.` }).catch(() => undefined);
  };
  await show();
  place.onMove(() => {
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      void show();
    }, Math.max(0, shown + LINE_UPDATE_MS - Date.now()));
  });
  const ticket = await place.ready;
  clearTimeout(timer);
  if (typeof ticket === 'string') await interaction.editReply({ content: ticket }).catch(() => undefined);
  return ticket;
}

function ordinal(n: number): string {
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
