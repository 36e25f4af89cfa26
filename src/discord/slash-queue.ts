/**
 * /agent with a queue (src/queue): acknowledged and shown here, then queued for a worker, with
 * its place in line shown until a worker takes it.
 */
import type { QueuedRuns } from '../queue/queued-runs.js';
import { newRunId } from '../agent/agent.js';
import { NO_PREVIEWS } from './answer.js';
import { cancelRow } from './components.js';
import { callerOfInteraction, reserveQueuedRun, type BotApp } from './context.js';
import { openPlace, ordinal, refuse, slashRequest, type RunInteraction, type SlashRunOptions } from './slash-open.js';
import type { SlashSurface } from './slash-place.js';
import { withNote, type InteractionReplies } from './slash-targets.js';

/**
 * With a queue (src/queue): the run is acknowledged, shown and recorded here, then queued for a
 * worker, which fetches its files, runs it and posts its answer. Until a worker takes it, its
 * place in line is shown.
 */
export async function queueFromSlash(interaction: RunInteraction, bot: BotApp, options: SlashRunOptions, queue: QueuedRuns): Promise<void> {
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

/**
 * Keeps a queued run's place shown until a worker takes it (or its token is near its end). Only
 * changes are edited in (each edit is a request, exempt from the global budget); a worker that has
 * taken the run owns its status from then on.
 */
function showPlace(bot: BotApp, surface: SlashSurface, replies: InteractionReplies, queue: QueuedRuns, first: number | null): void {
  if (first === null) return;
  const show = async (place: number) => {
    if (!bot.accepting()) return;
    await replies.editOriginal({ content: withNote(`⏳ Queued: **${ordinal(place)}** in line for a worker.`, surface.notes), components: [cancelRow(surface.runId)], allowedMentions: { parse: [] }, flags: NO_PREVIEWS });
  };
  void show(first).catch(() => undefined);
  queue.watchPlace(surface.runId, surface.createdAt + bot.tokenLifetimeMs, show);
}

