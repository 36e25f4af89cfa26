import { ChannelType, MessageFlags, RESTJSONErrorCodes, ThreadAutoArchiveDuration, type ChatInputCommandInteraction, type Message } from 'discord.js';
import { newRunId } from '../agent/agent.js';
import type { AgentMode, RunResult } from '../agent/events.js';
import { dmKey, messageKey, threadKey } from '../conversations/keys.js';
import { CAIRN_AUTHOR, type Conversation } from '../conversations/types.js';
import { answerMessages, answerText, type AnswerPart } from './answer.js';
import { postedAt } from './conversation-run.js';
import type { PostRequest } from './approvals.js';
import { cancelRow } from './components.js';
import { callerOfInteraction, reserveRun, runSettings, type BotApp } from './context.js';
import { discordCode, explainDiscordError } from './errors.js';
import { RunView, type StepFile } from './run-view.js';

export interface SlashRunOptions {
  goal: string;
  /** The mode chosen; without one, the place's default mode (settings). */
  mode?: AgentMode;
  /** Every reply ephemeral, no thread, memories of the run kept private. */
  private: boolean;
}


/**
 * `/agent`: acknowledge at once, show a live status (with Cancel) and a thread of step summaries,
 * then post the answer with 👍/👎. Past the interaction token's lifetime everything continues in
 * the channel (or, for a private run, in a DM).
 */
export async function runFromSlash(interaction: ChatInputCommandInteraction, bot: BotApp, options: SlashRunOptions): Promise<RunResult | null> {
  const caller = callerOfInteraction(interaction);
  const ticket = reserveRun(bot, caller);
  if (typeof ticket === 'string') {
    await interaction.reply({ content: ticket, flags: MessageFlags.Ephemeral });
    return null;
  }
  let result: RunResult | null = null;
  const runId = newRunId();
  try {
    const ephemeral = options.private ? { flags: MessageFlags.Ephemeral as const } : {};
    // The deferral's response carries the reply message: no separate fetch needed (Discord's
    // global request budget is the bottleneck when many runs start at once).
    const deferred = await interaction.deferReply({ ...ephemeral, withResponse: true });
    const log = bot.log.child({ runId, userId: caller.userId });
    const tokenAlive = () => Date.now() - interaction.createdTimestamp < bot.tokenLifetimeMs;
    // The reply as a channel message: after the token expires it is edited with the bot token.
    let reply: Message | null = options.private ? null : (deferred.resource?.message ?? null);
    if (!options.private && reply === null) reply = await interaction.fetchReply();

    const status = async (content: string, running: boolean) => {
      const payload = { content, components: running ? [cancelRow(runId)] : [] };
      if (tokenAlive()) await interaction.editReply(payload);
      else if (reply !== null) await reply.edit(payload);
    };
    let step: ((content: string, files: StepFile[]) => Promise<void>) | undefined;
    // The run's thread is its conversation's: a mention there (or a reply to the answer) continues it.
    let threadConversation: Conversation | null = null;
    const channel = interaction.channel;
    if (reply !== null && channel !== null && (channel.type === ChannelType.GuildText || channel.type === ChannelType.GuildAnnouncement)) {
      try {
        const thread = await reply.startThread({ name: `Run: ${options.goal}`.slice(0, 90), autoArchiveDuration: ThreadAutoArchiveDuration.OneHour });
        // Started with the thread, so a mention in it during the run already belongs to it.
        threadConversation = await startThreadConversation(bot, interaction, thread.id, reply.id);
        // Steps quote the model and tool output: no mention in them may ping anyone.
        step = async (content, files) => {
          const attached = files.map((f) => ({ attachment: Buffer.from(f.content, 'utf8'), name: f.name }));
          await thread.send({ content, allowedMentions: { parse: [] }, ...(attached.length === 0 ? {} : { files: attached }) });
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
        const message = await interaction.followUp({ ...payload, ...ephemeral });
        return {
          edit: async (content) => {
            await interaction.editReply({ message, content, components: [] });
          },
        };
      }
      const target = options.private ? await interaction.user.createDM() : await bot.client.channels.fetch(interaction.channelId);
      if (target?.isSendable() !== true) throw new Error('no place to post the approval request');
      const message = await target.send(payload);
      return {
        edit: async (content) => {
          await message.edit({ content, components: [] });
        },
      };
    };
    const controller = new AbortController();
    const run = (async () => {
      const { limits: placeLimits, ...placeOptions } = runSettings(bot, { guildId: interaction.guildId, channelId: caller.channelId, threadId: interaction.channel?.isThread() === true ? interaction.channelId : null }, options.mode);
      const outcome = await bot.app.agent.run({
        ...placeOptions,
        goal: options.goal,
        runId,
        signal: controller.signal,
        sinks: [view.sink],
        scope: { userId: caller.userId, userName: interaction.user.username, channelId: interaction.channelId, ...(interaction.guildId === null ? {} : { guildId: interaction.guildId }) },
        trigger: 'slash',
        visibility: options.private ? 'private' : 'channel',
        limits: { ...placeLimits, maxCostUsd: ticket.capUsd },
        approver: bot.approvals.approverFor(caller.userId, runId, postApproval, (error) => {
          log.warn({ err: error }, 'could not update an approval request');
        }),
      });
      await view.settled();
      await bot.app.conversations.during(
        threadConversation?.id ?? null,
        (async () => {
          const answerIds = await postAnswer(interaction, bot, outcome, options.private, tokenAlive());
          // A private run's replies are ephemeral: nobody can reply to them, and its turns stay its own.
          if (!options.private && answerIds.length > 0) await recordRun(interaction, bot, { result: outcome, conversation: threadConversation, statusId: reply?.id ?? null, answerIds });
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

/** Posts the answer; the ids of the messages posted. */
async function postAnswer(interaction: ChatInputCommandInteraction, bot: BotApp, result: RunResult, privately: boolean, tokenAlive: boolean): Promise<string[]> {
  const messages = answerMessages(result);
  const posted: string[] = [];
  let viaToken = tokenAlive;
  const send = async (message: AnswerPart): Promise<string> => {
    if (viaToken) {
      try {
        return (await interaction.followUp({ ...message, ...(privately ? { flags: MessageFlags.Ephemeral } : {}) })).id;
      } catch (error) {
        // The token died earlier than we counted (clock skew, a slow Discord): use the bot token.
        if (discordCode(error) !== RESTJSONErrorCodes.InvalidWebhookToken && discordCode(error) !== RESTJSONErrorCodes.UnknownWebhook) throw error;
        viaToken = false;
      }
    }
    if (privately) return (await interaction.user.send(message)).id;
    const channel = await bot.client.channels.fetch(interaction.channelId);
    if (channel?.isSendable() !== true) throw new Error(`channel ${interaction.channelId} cannot be written to`);
    return (await channel.send(message)).id;
  };
  try {
    for (const message of messages) posted.push(await send(message));
  } catch (error) {
    bot.log.warn({ err: error, runId: result.runId }, 'could not post the answer');
    // Tell the user where we can: the failure is Discord's, not the run's.
    await interaction.user.send(`I finished run \`${result.runId}\` but could not post the answer: ${explainDiscordError(error)}`).catch(() => undefined);
  }
  return posted;
}

/** The conversation of a run's thread (null, logged, when it cannot be stored: the run goes on). */
async function startThreadConversation(bot: BotApp, interaction: ChatInputCommandInteraction, threadId: string, statusId: string): Promise<Conversation | null> {
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
  interaction: ChatInputCommandInteraction,
  bot: BotApp,
  run: { result: RunResult; conversation: Conversation | null; statusId: string | null; answerIds: string[] },
): Promise<void> {
  const { conversations } = bot.app;
  const { result } = run;
  const caller = callerOfInteraction(interaction);
  const direct = interaction.guildId === null;
  try {
    const here = direct ? dmKey(interaction.channelId) : threadKey(interaction.channelId);
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
