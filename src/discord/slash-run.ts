import { ChannelType, MessageFlags, RESTJSONErrorCodes, ThreadAutoArchiveDuration, type ChatInputCommandInteraction, type Message } from 'discord.js';
import { newRunId } from '../agent/agent.js';
import type { AgentMode, RunResult } from '../agent/events.js';
import { answerMessages, type AnswerPart } from './answer.js';
import type { PostRequest } from './approvals.js';
import { cancelRow } from './components.js';
import { callerOfInteraction, reserveRun, type BotApp } from './context.js';
import { discordCode, explainDiscordError } from './errors.js';
import { RunView, type StepFile } from './run-view.js';
import { sendToChannel } from './send.js';

export interface SlashRunOptions {
  goal: string;
  mode: AgentMode;
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
    const channel = interaction.channel;
    if (reply !== null && channel !== null && (channel.type === ChannelType.GuildText || channel.type === ChannelType.GuildAnnouncement)) {
      try {
        const thread = await reply.startThread({ name: `Run: ${options.goal}`.slice(0, 90), autoArchiveDuration: ThreadAutoArchiveDuration.OneHour });
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
      const outcome = await bot.app.agent.run({
        goal: options.goal,
        mode: options.mode,
        runId,
        signal: controller.signal,
        sinks: [view.sink],
        scope: { userId: caller.userId, userName: interaction.user.username, channelId: interaction.channelId, ...(interaction.guildId === null ? {} : { guildId: interaction.guildId }) },
        trigger: 'slash',
        visibility: options.private ? 'private' : 'channel',
        limits: { maxCostUsd: ticket.capUsd },
        approver: bot.approvals.approverFor(caller.userId, runId, postApproval, (error) => {
          log.warn({ err: error }, 'could not update an approval request');
        }),
      });
      await view.settled();
      await postAnswer(interaction, bot, outcome, options.private, tokenAlive());
      return outcome;
    })();
    bot.runs.add({ runId, userId: caller.userId, channelId: interaction.channelId, guildId: interaction.guildId, private: options.private, scheduled: false, controller, done: run });
    result = await run;
    return result;
  } finally {
    ticket.finish(result?.costUsd ?? null, runId);
  }
}

async function postAnswer(interaction: ChatInputCommandInteraction, bot: BotApp, result: RunResult, privately: boolean, tokenAlive: boolean): Promise<void> {
  const messages = answerMessages(result);
  let viaToken = tokenAlive;
  const send = async (message: AnswerPart) => {
    if (viaToken) {
      try {
        await interaction.followUp({ ...message, ...(privately ? { flags: MessageFlags.Ephemeral } : {}) });
        return;
      } catch (error) {
        // The token died earlier than we counted (clock skew, a slow Discord): use the bot token.
        if (discordCode(error) !== RESTJSONErrorCodes.InvalidWebhookToken && discordCode(error) !== RESTJSONErrorCodes.UnknownWebhook) throw error;
        viaToken = false;
      }
    }
    if (privately) {
      await interaction.user.send(message);
      return;
    }
    await sendToChannel(bot.client, interaction.channelId, message);
  };
  try {
    for (const message of messages) await send(message);
  } catch (error) {
    bot.log.warn({ err: error, runId: result.runId }, 'could not post the answer');
    // Tell the user where we can: the failure is Discord's, not the run's.
    await interaction.user.send(`I finished run \`${result.runId}\` but could not post the answer: ${explainDiscordError(error)}`).catch(() => undefined);
  }
}
