import { RESTJSONErrorCodes, type Client } from 'discord.js';
import type { StepSummary } from '../memory/episodes.js';
import type { Logger } from '../log.js';
import { DeliveryError, type Report, type ReportDelivery } from '../scheduler/delivery.js';
import type { Schedule } from '../scheduler/store.js';
import { formatCost, formatDuration } from '../console/render.js';
import { errorMessage, oneLine } from '../text.js';
import { answerMessages, answerNonce, fileNames, NO_PREVIEWS, postedOnce, sendPart } from './answer.js';
import { discordCode, explainDiscordError } from './errors.js';
import { filesOutRecord, hasFiles, readAnswerFiles } from './files-out.js';
import { fetchChannel } from './send.js';
import type { RunRecords } from '../runs/types.js';

/** Discord errors that will not go away by retrying: the channel is gone or closed to Cairn. */
const PERMANENT = new Set<number>([RESTJSONErrorCodes.UnknownChannel, RESTJSONErrorCodes.MissingAccess, RESTJSONErrorCodes.MissingPermissions]);
const REPORT_STEPS = 8;

/** The report's heading and step summary, posted before the answer. */
function reportHeader(schedule: Schedule, report: Report): string {
  const { result } = report;
  const icon = result.status === 'succeeded' ? '🗓️' : '⚠️';
  const changed = report.changed === true && schedule.notify === 'on-change' && schedule.lastReport !== null ? ' · 🔔 changed since the last report' : '';
  const caughtUp = report.reason === 'catch-up' ? ' · catch-up for a run missed while Cairn was down' : '';
  const resumed = report.resumed === true ? ' · resumed after a restart' : '';
  const tokens = result.usage.promptTokens + result.usage.completionTokens;
  const elapsed = Date.parse(result.endedAt) - Date.parse(result.startedAt);
  const steps = report.steps.slice(-REPORT_STEPS).map((s) => `-# ${stepLine(s)}`);
  return [
    `${icon} **Scheduled report** · \`${schedule.id}\`${changed}${caughtUp}${resumed}`,
    `> ${oneLine(schedule.goal, 300)}`,
    ...(report.steps.length > REPORT_STEPS ? [`-# … ${report.steps.length - REPORT_STEPS} earlier steps`] : []),
    ...steps,
    `-# ${result.steps} step${result.steps === 1 ? '' : 's'} · ${formatDuration(elapsed)} · ${tokens.toLocaleString('en')} tokens · ${formatCost(result.costUsd).replace(' (no price for this model)', '')} · run \`${result.runId}\``,
  ].join('\n');
}

function stepLine(step: StepSummary): string {
  const stage = step.stage === undefined ? '' : `${oneLine(step.stage, 60)} · `;
  if (step.decision === 'final') return `${stage}${step.step}. answer`;
  return `${stage}${step.step}. ${step.tools.map((t) => `${t.ok ? '✅' : '⚠️'} ${t.name}`).join(', ')}`;
}

/** Why a post failed, naming the channel (the creator reads it in a DM), and whether retrying can help. */
function deliveryError(error: unknown, channelId: string): DeliveryError {
  const channel = `<#${channelId}>`;
  switch (discordCode(error)) {
    case RESTJSONErrorCodes.UnknownChannel:
      return new DeliveryError(`${channel} no longer exists`, true);
    case RESTJSONErrorCodes.MissingAccess:
      return new DeliveryError(`Cairn cannot see ${channel} (missing View Channel)`, true);
    case RESTJSONErrorCodes.MissingPermissions:
      return new DeliveryError(`Cairn may not post in ${channel} (missing Send Messages)`, true);
    case undefined:
      return new DeliveryError(errorMessage(error), false);
    default:
      return new DeliveryError(explainDiscordError(error), PERMANENT.has(discordCode(error) ?? 0));
  }
}

/** Posts scheduled reports in their channels, with 👍/👎 like any answer. */
export class DiscordReportDelivery implements ReportDelivery {
  constructor(
    private readonly client: Client,
    private readonly log: Logger,
    /** Where a report's files went, for `/runs show`. */
    private readonly runRecords: RunRecords,
  ) {}

  async deliver(schedule: Schedule, report: Report): Promise<void> {
    try {
      const channel = await fetchChannel(this.client, schedule.channelId);
      if (channel?.isSendable() !== true) throw new DeliveryError(`<#${schedule.channelId}> is not a channel Cairn can post in`, true);
      // Reports go to a channel's members: never @everyone, roles or users from a model's words.
      // Each message with its nonce enforced: a resumed run delivering again after a crash mid-delivery posts nothing twice.
      const runId = report.result.runId;
      await channel.send({ content: reportHeader(schedule, report), allowedMentions: { parse: [] }, flags: NO_PREVIEWS, nonce: answerNonce(runId, 'h'), enforceNonce: true });
      // The run's attached files go with the report; those too large are named in it.
      const files = await readAnswerFiles(report.result);
      const posted = new Set<string>();
      for (const part of postedOnce(answerMessages(report.result, files), runId)) {
        const { filesPosted } = await sendPart(
          part,
          async (p) => {
            await channel.send({ ...p, allowedMentions: { parse: [] } });
          },
          report.result.runId,
        );
        if (filesPosted) for (const name of fileNames(part)) posted.add(name);
      }
      if (hasFiles(files)) await this.keepFiles(schedule, report, filesOutRecord(files, posted));
    } catch (error) {
      if (error instanceof DeliveryError) throw error;
      throw deliveryError(error, schedule.channelId);
    }
  }

  /** A record of the report's run, so that `/runs show` says where its files are; a failure is logged. */
  private async keepFiles(schedule: Schedule, report: Report, filesOut: ReturnType<typeof filesOutRecord>): Promise<void> {
    const { result } = report;
    await this.runRecords
      .save({
        runId: result.runId,
        userId: schedule.creatorId,
        guildId: schedule.guildId,
        channelId: schedule.channelId,
        goal: result.goal,
        mode: result.mode,
        private: false,
        source: 'schedule',
        attachments: [],
        retryOf: null,
        filesOut,
        createdAt: Date.parse(result.startedAt),
      })
      .catch((error: unknown) => {
        this.log.warn({ err: error, runId: result.runId }, "could not record where the report's files went");
      });
  }

  /** A DM to the creator; if DMs are closed, a mention in the schedule's channel. */
  async tellCreator(schedule: Schedule, message: string): Promise<void> {
    try {
      await (await this.client.users.fetch(schedule.creatorId)).send(message.slice(0, 2_000));
    } catch (error) {
      this.log.info({ err: error, scheduleId: schedule.id }, 'could not DM the schedule creator; trying the channel');
      const channel = await fetchChannel(this.client, schedule.channelId);
      if (channel?.isSendable() !== true) throw error;
      await channel.send({ content: `<@${schedule.creatorId}> ${message}`.slice(0, 2_000), allowedMentions: { users: [schedule.creatorId] } });
    }
  }
}
