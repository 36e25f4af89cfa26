/**
 * At the bot's start: the runs a shutdown or a crash left unfinished (src/durable) go on where
 * they are shown — the status message edited on, a "resumed" line in the thread, approvals and
 * the answer where they would have gone. Those that cannot go on are ended, and their starters
 * told why.
 */
import { WebhookClient } from 'discord.js';
import type { RunResult } from '../agent/events.js';
import { RunSuspendedError } from '../agent/journal.js';
import type { Logger } from '../log.js';
import type { RunTicket } from './access.js';
import type { Abandoned, Resumable } from '../durable/runs.js';
import { NO_PREVIEWS } from './answer.js';
import type { BotApp } from './context.js';
import { explainDiscordError } from './errors.js';
import { RunView } from './run-view.js';
import { sendToChannel } from './send.js';
import { SlashSurface } from './slash-place.js';
import { deliverMention, mentionApprovals, mentionPoster, MentionSurface } from './mention-place.js';
import { approvalPoster, deliverAnswer, viewTargets, type InteractionReplies } from './slash-targets.js';

/** Resumes what can go on and reports what cannot; returns the ids of the runs resumed. */
export async function resumeRuns(bot: BotApp): Promise<Set<string>> {
  const { resumable, abandoned } = await bot.app.durable.unfinished();
  const resumed = new Set<string>();
  for (const run of resumable) {
    const slash = SlashSurface.safeParse(run.run.surface);
    const mention = MentionSurface.safeParse(run.run.surface);
    if (slash.success) resumeSlashRun(bot, run, slash.data);
    else if (mention.success) resumeMentionRun(bot, run, mention.data);
    else {
      bot.log.warn({ runId: run.run.runId, issue: slash.error.issues[0]?.message }, 'a durable run has no surface this bot can show it on');
      abandoned.push({ run: run.run, reason: 'It was started somewhere this version of Cairn cannot show it again, so it was not resumed. Start it again if you still need it.' });
      await bot.app.durable.abandon(run.run.runId);
      continue;
    }
    resumed.add(run.run.runId);
  }
  for (const run of abandoned) await tellAbandoned(bot, run);
  return resumed;
}

/** A slash-started run again, on its stored surface: replies through its token while it lives, the bot token after. */
function resumeSlashRun(bot: BotApp, resumable: Resumable, surface: SlashSurface): void {
  const { runId } = resumable.run;
  const log = bot.log.child({ runId, userId: surface.userId });
  const webhook = new WebhookClient({ id: surface.applicationId, token: surface.token }, { rest: bot.client.rest.options, allowedMentions: { parse: [] } });
  const replies = webhookReplies(bot, webhook, surface.userId);
  const onError = (error: unknown, what: string) => {
    log.warn({ err: error, reason: explainDiscordError(error) }, `could not ${what}`);
  };
  const view = new RunView(viewTargets(bot, surface, replies, onError));
  const controller = new AbortController();
  const where = { guildId: surface.guildId, channelId: surface.parentChannelId };
  const ticket = bot.limiter.resume(surface.userId, resumable.run.request.limits.maxCostUsd ?? bot.app.agent.defaultLimits.maxCostUsd, where);
  const done = bot.app.durable
    .resume(
      resumable,
      {
        sinks: [view.sink],
        signal: controller.signal,
        limits: { maxCostUsd: ticket.capUsd },
        approver: bot.approvals.approverFor(surface.userId, runId, approvalPoster(bot, surface, replies), (error) => {
          log.warn({ err: error }, 'could not update an approval request');
        }),
      },
      async (outcome) => {
        await view.settled();
        await bot.app.conversations.during(surface.conversation?.id ?? null, deliverAnswer(bot, surface, replies, outcome));
      },
    )
    .then(...settled(ticket, runId, log))
    .finally(() => {
      webhook.destroy();
    });
  bot.runs.add({ runId, userId: surface.userId, channelId: surface.channelId, guildId: surface.guildId, private: surface.private, scheduled: false, durable: true, controller, done });
}

/** How a resumed run's end is taken: its cost booked, a failure logged (a suspension is not one: the next start goes on with it). */
function settled(ticket: RunTicket, runId: string, log: Logger): [(result: RunResult) => void, (error: unknown) => void] {
  return [
    (result) => {
      ticket.finish(result.costUsd, runId);
    },
    (error) => {
      ticket.finish(null, runId);
      if (!(error instanceof RunSuspendedError)) log.error({ err: error }, 'a resumed run failed');
    },
  ];
}

/**
 * Replies through a webhook on the stored token. discord.js's webhook client cannot send an
 * ephemeral follow-up, so a private run's follow-ups (approvals, the answer) go to its starter's DMs.
 */
/** A run answering a message, again: "typing…" while it works, the answer where it would have gone. */
function resumeMentionRun(bot: BotApp, resumable: Resumable, surface: MentionSurface): void {
  const { runId } = resumable.run;
  const log = bot.log.child({ runId, userId: surface.userId });
  const post = mentionPoster(bot, surface);
  const controller = new AbortController();
  const ticket = bot.limiter.resume(surface.userId, resumable.run.request.limits.maxCostUsd ?? bot.app.agent.defaultLimits.maxCostUsd, { guildId: surface.guildId, channelId: surface.answerChannelId });
  const showTyping = () => {
    bot.client.channels
      .fetch(surface.answerChannelId)
      .then((channel) => (channel?.isSendable() === true ? channel.sendTyping() : undefined))
      .catch(() => undefined);
  };
  showTyping();
  const typing = setInterval(showTyping, 8_000);
  typing.unref();
  const done = bot.app.durable
    .resume(
      resumable,
      {
        signal: controller.signal,
        limits: { maxCostUsd: ticket.capUsd },
        approver: bot.approvals.approverFor(surface.userId, runId, mentionApprovals(post), (error) => {
          log.warn({ err: error }, 'could not update an approval request');
        }),
      },
      async (outcome) => {
        clearInterval(typing);
        await bot.app.conversations.during(surface.conversation.id, deliverMention(bot, surface, outcome, post));
      },
    )
    .then(...settled(ticket, runId, log))
    .finally(() => {
      clearInterval(typing);
    });
  bot.runs.add({ runId, userId: surface.userId, channelId: surface.answerChannelId, guildId: surface.guildId, private: surface.direct, scheduled: false, durable: true, controller, done });
}

function webhookReplies(bot: BotApp, webhook: WebhookClient, userId: string): InteractionReplies {
  return {
    editOriginal: async (payload) => {
      await webhook.editMessage('@original', payload);
    },
    followUp: async ({ flags, ...payload }) => {
      if (flags !== NO_PREVIEWS) {
        const message = await (await bot.client.users.fetch(userId)).send({ ...payload, flags: NO_PREVIEWS });
        return {
          id: message.id,
          edit: async (content) => {
            await message.edit({ content, components: [] });
          },
        };
      }
      const message = await webhook.send({ ...payload, flags });
      return {
        id: message.id,
        edit: async (content) => {
          await webhook.editMessage(message.id, { content, components: [] });
        },
      };
    },
  };
}

/** Tells a run's starter it will not go on: in its channel with a mention, or by DM for a private run. */
async function tellAbandoned(bot: BotApp, { run, reason }: Abandoned): Promise<void> {
  await bot.app.memory.episodes.interrupt(run.runId, reason, Date.now()).catch((error: unknown) => {
    bot.log.warn({ err: error, runId: run.runId }, 'could not mark a run interrupted');
  });
  const surface = SlashSurface.safeParse(run.surface);
  const { userId, channelId } = run.request.scope;
  const privately = run.request.visibility === 'private' || channelId === undefined || (surface.success && surface.data.private);
  const text = `⚠️ ${privately ? 'Your' : `<@${userId}>, your`} run \`${run.runId}\` was not resumed after Cairn restarted. ${reason}`;
  try {
    if (privately) await (await bot.client.users.fetch(userId)).send(text);
    else await sendToChannel(bot.client, surface.success ? surface.data.channelId : channelId, { content: text, allowedMentions: { users: [userId] } });
  } catch (error) {
    bot.log.warn({ err: error, runId: run.runId, reason: explainDiscordError(error) }, 'could not tell a starter their run was not resumed');
  }
}
