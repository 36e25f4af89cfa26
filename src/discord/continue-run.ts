/**
 * A durable run going on where it is shown, from its stored surface (ids, not live objects): a
 * run resumed after a restart, or a queued run a worker took (src/queue) — started, or resumed
 * from its journal when the worker before died. Replies go through the interaction's webhook
 * while its token lives, the bot token after, so any process with the bot's token can show it.
 */
import { WebhookClient } from 'discord.js';
import type { IncomingFile } from '../files/types.js';
import type { RunResult } from '../agent/events.js';
import { RunSuspendedError } from '../agent/journal.js';
import type { Logger } from '../log.js';
import type { Resumable } from '../durable/runs.js';
import type { RunTicket } from './access.js';
import { NO_PREVIEWS } from './answer.js';
import type { BotApp } from './context.js';
import { tellRefused } from './conversation-run.js';
import { explainDiscordError } from './errors.js';
import { fetchingText, intakeNote, takeFiles } from './files-in.js';
import { deliverMention, mentionApprovals, mentionPoster, MentionSurface } from './mention-place.js';
import { RunView } from './run-view.js';
import { fetchChannel } from './send.js';
import { SlashSurface } from './slash-place.js';
import { ScheduleRunSurface } from '../scheduler/execute.js';
import { approvalPoster, deliverAnswer, viewTargets, type InteractionReplies } from './slash-targets.js';

export const UNSHOWABLE = 'It was started somewhere this version of Cairn cannot show it again, so it could not go on. Start it again if you still need it.';

/**
 * Goes on with the run on its stored surface, registered with this process's runs (Cancel,
 * shutdown). Resolves or rejects with the run (its cost booked, a failure logged); undefined
 * when no surface here can show it (the caller ends it and says why).
 */
export function continueRun(bot: BotApp, resumable: Resumable): Promise<RunResult | undefined> | undefined {
  const slash = SlashSurface.safeParse(resumable.run.surface);
  if (slash.success) return continueSlashRun(bot, resumable, slash.data);
  const mention = MentionSurface.safeParse(resumable.run.surface);
  if (mention.success) return continueMentionRun(bot, resumable, mention.data);
  // A schedule's run: its report goes to the schedule's channel, as the scheduler posts it.
  const scheduled = ScheduleRunSurface.safeParse(resumable.run.surface);
  if (scheduled.success) return bot.scheduler.continueRun(resumable, scheduled.data);
  bot.log.warn({ runId: resumable.run.runId, issue: slash.error.issues[0]?.message }, 'a durable run has no surface this bot can show it on');
  return undefined;
}

/** A queued run not started yet: its files are fetched now, by the process that runs it. */
function starting(resumable: Resumable): boolean {
  return resumable.run.status === 'queued' && resumable.entries.length === 0;
}

function continueSlashRun(bot: BotApp, resumable: Resumable, stored: SlashSurface): Promise<RunResult> {
  const { runId } = resumable.run;
  const log = bot.log.child({ runId, userId: stored.userId });
  const webhook = new WebhookClient({ id: stored.applicationId, token: stored.token }, { rest: bot.client.rest.options, allowedMentions: { parse: [] } });
  const replies = webhookReplies(bot, webhook, stored.userId);
  const onError = (error: unknown, what: string) => {
    log.warn({ err: error, reason: explainDiscordError(error) }, `could not ${what}`);
  };
  const controller = new AbortController();
  const where = { guildId: stored.guildId, channelId: stored.parentChannelId };
  const ticket = bot.limiter.resume(stored.userId, resumable.run.request.limits.maxCostUsd ?? bot.app.agent.defaultLimits.maxCostUsd, where);
  const done = (async () => {
    let surface = stored;
    let files: readonly IncomingFile[] = [];
    if (starting(resumable) && stored.attachments.length > 0) {
      await viewTargets(bot, surface, replies, onError).status(fetchingText(stored.attachments.length), true).catch(() => undefined);
      const intake = await takeFiles(bot, stored.attachments, controller.signal);
      files = intake.files;
      surface = { ...surface, attachments: [], notes: [surface.notes, intakeNote(intake)].filter((n) => n !== '').join('\n') };
    }
    const view = new RunView(viewTargets(bot, surface, replies, onError));
    return bot.app.durable.resume(
      resumable,
      {
        sinks: [view.sink],
        signal: controller.signal,
        limits: { maxCostUsd: ticket.capUsd },
        ...(files.length === 0 ? {} : { files }),
        approver: bot.approvals.approverFor(stored.userId, runId, approvalPoster(bot, surface, replies), (error) => {
          log.warn({ err: error }, 'could not update an approval request');
        }),
      },
      async (outcome) => {
        await view.settled();
        await bot.app.conversations.during(surface.conversation?.id ?? null, deliverAnswer(bot, surface, replies, outcome));
      },
    );
  })()
    .then(...settled(ticket, runId, log))
    .finally(() => {
      webhook.destroy();
    });
  bot.runs.add({ runId, userId: stored.userId, channelId: stored.channelId, guildId: stored.guildId, private: stored.private, scheduled: false, durable: true, controller, done });
  return done;
}

/** How a run's end is taken: its cost booked, a failure logged (a suspension is not one: it goes on later). */
function settled(ticket: RunTicket, runId: string, log: Logger): [(result: RunResult) => RunResult, (error: unknown) => never] {
  return [
    (result) => {
      ticket.finish(result.costUsd, runId);
      return result;
    },
    (error) => {
      ticket.finish(null, runId);
      if (!(error instanceof RunSuspendedError)) log.error({ err: error }, 'a durable run failed');
      throw error;
    },
  ];
}

/** A run answering a message: "typing…" while it works, the answer where it would have gone. */
function continueMentionRun(bot: BotApp, resumable: Resumable, surface: MentionSurface): Promise<RunResult> {
  const { runId } = resumable.run;
  const log = bot.log.child({ runId, userId: surface.userId });
  const post = mentionPoster(bot, surface);
  const controller = new AbortController();
  const ticket = bot.limiter.resume(surface.userId, resumable.run.request.limits.maxCostUsd ?? bot.app.agent.defaultLimits.maxCostUsd, { guildId: surface.guildId, channelId: surface.answerChannelId });
  const showTyping = () => {
    fetchChannel(bot.client, surface.answerChannelId)
      .then((channel) => (channel?.isSendable() === true ? channel.sendTyping() : undefined))
      .catch(() => undefined);
  };
  showTyping();
  const typing = setInterval(showTyping, 8_000);
  typing.unref();
  const done = (async () => {
    let files: readonly IncomingFile[] = [];
    if (starting(resumable) && surface.attachments.length > 0) {
      const intake = await takeFiles(bot, surface.attachments, controller.signal);
      files = intake.files;
      // Files refused are named at once, with the reason; the run goes on with the rest.
      if (intake.refused.length > 0) await tellRefused(intakeNote({ files: [], refused: intake.refused }), post, bot.log);
    }
    return bot.app.durable.resume(
      resumable,
      {
        signal: controller.signal,
        limits: { maxCostUsd: ticket.capUsd },
        ...(files.length === 0 ? {} : { files }),
        approver: bot.approvals.approverFor(surface.userId, runId, mentionApprovals(post), (error) => {
          log.warn({ err: error }, 'could not update an approval request');
        }),
      },
      async (outcome) => {
        clearInterval(typing);
        await bot.app.conversations.during(surface.conversation.id, deliverMention(bot, surface, outcome, post));
      },
    );
  })()
    .then(...settled(ticket, runId, log))
    .finally(() => {
      clearInterval(typing);
    });
  bot.runs.add({ runId, userId: surface.userId, channelId: surface.answerChannelId, guildId: surface.guildId, private: surface.direct, scheduled: false, durable: true, controller, done });
  return done;
}

/**
 * Replies through a webhook on the stored token. discord.js's webhook client cannot send an
 * ephemeral follow-up, so a private run's follow-ups (approvals, the answer) go to its starter's DMs.
 */
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
