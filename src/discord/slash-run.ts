import { MessageFlags } from 'discord.js';
import { newRunId } from '../agent/agent.js';
import type { RunResult } from '../agent/events.js';
import { RunSuspendedError } from '../agent/journal.js';
import type { RunTicket } from './access.js';
import { callerOfInteraction, reserveRun, type BotApp } from './context.js';
import { isQueued, type QueuedStart } from './run-line.js';
import { RunView } from './run-view.js';
import { fetchingText, intakeNote, takeFiles } from './files-in.js';
import { openPlace, ordinal, refuse, slashRequest, type RunInteraction, type SlashRunOptions } from './slash-open.js';
import { queueFromSlash } from './slash-queue.js';
import { approvalPoster, deliverAnswer, viewTargets } from './slash-targets.js';

export type { RunInteraction, SlashRunOptions } from './slash-open.js';

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

