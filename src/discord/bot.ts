import { Events, REST, RESTEvents, Routes, type Client } from 'discord.js';
import { z } from 'zod';
import { commandBodies, COMMANDS, MESSAGE_MENUS } from '../../commands/index.js';
import { createScheduler, type App } from '../app.js';
import type { Config } from '../config.js';
import { AccessPolicy, RunLimiter } from './access.js';
import { postServerWarnings, scheduleBudgetHooks } from './budget-hooks.js';
import { createClient, learnApplicationId } from './client.js';
import { startReflections } from './lessons.js';
import { settingsConversationPolicy } from '../settings/conversation-policy.js';
import type { ConversationPolicy } from '../conversations/types.js';
import { TOKEN_LIFETIME_MS, type BotApp } from './context.js';
import { handleMessage } from './conversation.js';
import { explainDiscordError } from './errors.js';
import { handleReaction } from './feedback.js';
import { createRouter } from './router.js';
import { RunRegistry } from './runs.js';
import { resumeRuns } from './resume.js';
import { PendingApprovals } from './approvals.js';
import { PendingApprovalStore } from '../durable/approvals.js';
import { DiscordReportDelivery } from './report-delivery.js';
import { fetchChannel, sendToChannel } from './send.js';
import { standingRefusal } from './standing.js';
import { openControl, openQueue, type OpenQueue } from './queue-roles.js';

/** Registers the slash commands in one guild (instant) or globally. */
export async function registerCommands(rest: REST, applicationId: string, guildId: string | undefined): Promise<number> {
  const body = commandBodies();
  await rest.put(guildId === undefined ? Routes.applicationCommands(applicationId) : Routes.applicationGuildCommands(applicationId, guildId), { body });
  return body.length;
}

/** `cairn deploy-commands`: registration over REST alone, no gateway connection. */
export async function deployCommands(config: Config, guildId: string | undefined): Promise<number> {
  const rest = new REST(config.discord.restUrl === undefined ? {} : { api: config.discord.restUrl }).setToken(config.discord.token ?? '');
  const application = z.object({ id: z.string() }).parse(await rest.get(Routes.currentApplication()));
  return registerCommands(rest, application.id, guildId);
}

/** The Discord surface: routes interactions, messages and reactions to the app's services. */
export class DiscordBot {
  private constructor(
    readonly client: Client,
    readonly context: BotApp,
    private readonly state: { accepting: boolean; ready: boolean },
    private readonly approvalStore: PendingApprovalStore,
    private readonly queued: OpenQueue | null,
  ) {}

  static async start(app: App, options: { tokenLifetimeMs?: number; conversationPolicy?: ConversationPolicy; roles?: BotRoles } = {}): Promise<DiscordBot> {
    const { config, log } = app;
    const roles = options.roles ?? BOTH_ROLES;
    const redisUrl = config.queue.redisUrl;
    if (redisUrl === null && !(roles.gateway && roles.worker)) {
      throw new Error('A gateway without a worker, or a worker alone, needs a queue to share runs through: set CAIRN_REDIS_URL.');
    }
    const client = createClient(config);
    // Messages from the other processes (a Cancel, an approval decided) reach this bot once it is built.
    const bound: { bot?: BotApp; queue?: OpenQueue['runs'] } = {};
    const control = redisUrl === null ? null : await openControl(redisUrl, () => bound.bot, log);
    const state = { accepting: true, ready: false };
    const runs = new RunRegistry();
    // Approval requests outlive the process: a run resumed after a restart waits on the same buttons.
    const approvalStore = new PendingApprovalStore((name, schema) => app.memory.db.table(name, schema), log);
    const limiter = new RunLimiter(config.discord, app.budgets);
    const access = new AccessPolicy(config.discord);
    postServerWarnings(app, client, log);
    // Opened (and pruned) while connecting: Retry's first lookup must fit Discord's 3 s deadline.
    const recordsReady = app.runRecords.ready().catch((error: unknown) => {
      log.error({ err: error }, 'could not open the run records; Retry and /runs show will try again when used');
    });
    const scheduler = createScheduler(app, new DiscordReportDelivery(client, log, app.runRecords), {
      // Scheduled runs are listed, cancellable and drained on shutdown like any other.
      onRunStarted: ({ runId, schedule, controller, done, durable }) => {
        runs.add({
          runId,
          userId: schedule.creatorId,
          channelId: schedule.channelId,
          guildId: schedule.guildId,
          private: false,
          scheduled: true,
          controller,
          done,
          // Journaled, a shutdown suspends it (it goes on at the next start); else it is caught up.
          durable,
        });
      },
      // Their cost is held from, and booked to, the creator's daily budget and their server's.
      ...scheduleBudgetHooks(app),
      // Fired on their creator's behalf: paused once the creator may no longer use Cairn there.
      standing: (schedule) => standingRefusal({ access, client, log }, { userId: schedule.creatorId, guildId: schedule.guildId, channelId: schedule.channelId }),
      // With a queue a firing's run is queued for whichever worker is free (opened below, before the scheduler starts).
      ...(redisUrl === null ? {} : { enqueue: (request, surface) => (bound.queue === undefined ? Promise.reject(new Error('the run queue is not open yet')) : bound.queue.enqueue(request, surface)) }),
    }, roles.worker);
    const context: BotApp = {
      app,
      client,
      log,
      access,
      limiter,
      runs,
      scheduler,
      approvals: new PendingApprovals({
        store: approvalStore,
        log,
        decidedElsewhere: control === null ? undefined : (token) => control.publish({ kind: 'approval', token }),
        // A request posted before a restart is edited where it is, with the bot's token.
        reopen: (ref) => ({
          ref,
          edit: async (content) => {
            const channel = await fetchChannel(client, ref.channelId);
            if (channel?.isTextBased() === true) await channel.messages.edit(ref.messageId, { content, components: [] });
          },
        }),
      }),
      accepting: () => state.accepting,
      tokenLifetimeMs: options.tokenLifetimeMs ?? TOKEN_LIFETIME_MS,
      // Per server and channel (/config `threads`, `mentions`), inheriting CAIRN_THREADS.
      conversationPolicy: options.conversationPolicy ?? settingsConversationPolicy(app.settings),
    };
    bound.bot = context;
    const queued = control === null ? null : openQueue(redisUrl ?? '', context, roles, control);
    bound.queue = queued?.runs;
    const bot = new DiscordBot(client, context, state, approvalStore, queued);
    const route = createRouter(context, COMMANDS, MESSAGE_MENUS);
    const report = (what: string) => (error: unknown) => {
      log.error({ err: error }, `${what} failed`);
    };
    // For /metrics: runs in flight here, and what Discord's rate limits did to our requests.
    app.metrics.countInFlight(() => {
      const waiting = limiter.waiting();
      return { ...runs.inFlight(), waiting: waiting.count, oldestWaitingSince: waiting.oldestSince };
    });
    client.rest.on(RESTEvents.Response, (_request, response) => {
      app.metrics.discordResponse(response.status);
    });
    client.rest.on(RESTEvents.RateLimited, () => {
      app.metrics.discordRateLimited();
    });
    client.on(Events.InteractionCreate, (interaction) => void route(interaction));
    client.on(Events.MessageCreate, (message) => void handleMessage(message, context).catch(report('answering a message')));
    client.on(Events.MessageReactionAdd, (reaction, user) => void handleReaction(reaction, user, context).catch(report('recording a reaction')));
    client.on(Events.Error, report('the Discord connection'));
    client.on(Events.Warn, (message) => {
      log.warn({ message }, 'discord.js warning');
    });

    if (!roles.gateway) {
      // A worker posts over REST alone: the bot's token, no gateway connection.
      client.token = config.discord.token ?? null;
      client.rest.setToken(config.discord.token ?? '');
      // Its interaction webhook is exempt from the global budget (rest-budget.ts): learned over REST, with no ready event.
      await learnApplicationId(client);
      startReflections(app, client, queued);
      await queued?.worker?.ready();
      // Runs the firings of the shared schedules (src/queue/schedule-clock.ts).
      await scheduler.start();
      state.ready = true;
      log.info({ concurrency: config.discord.maxConcurrentRuns }, 'taking runs from the queue');
      return bot;
    }
    const ready = new Promise<void>((resolve) => {
      client.once(Events.ClientReady, () => {
        resolve();
      });
    });
    await client.login(config.discord.token).catch(async (error: unknown) => {
      await client.destroy();
      // Discord closes the connection with 4014 when the app is not approved for a privileged intent.
      if (config.discord.messageContent && error instanceof Error && /disallowed intents/i.test(error.message)) {
        throw new Error(
          'Discord refused the Message Content intent that CAIRN_MESSAGE_CONTENT=on asks for. Turn it on in the developer portal ' +
            '(your application → Bot → Privileged Gateway Intents → Message Content Intent), or set CAIRN_MESSAGE_CONTENT=off.',
          { cause: error },
        );
      }
      throw error;
    });
    await ready;
    log.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, 'connected to Discord');
    if (config.discord.guildId !== undefined && client.application !== null) {
      const count = await registerCommands(client.rest, client.application.id, config.discord.guildId);
      log.info({ guildId: config.discord.guildId, count }, 'slash commands registered');
    }
    startReflections(app, client, queued);
    await recordsReady;
    // Durable runs (scheduled ones too) go on first (with a queue, on whichever worker takes them);
    // the runs left over (started before runs were journaled) are announced as interrupted.
    const resumed = await (queued === null ? resumeRuns(context) : queued.requeueUnfinished()).catch((error: unknown) => {
      log.error({ err: error }, 'could not resume the runs a restart interrupted');
      return new Set<string>();
    });
    await bot.announceInterrupted(resumed);
    await scheduler.start();
    state.ready = true;
    return bot;
  }

  /**
   * Runs a crash left "running" are marked interrupted and announced: in their channel, or for a
   * private run to its starter alone (a DM), so a private run's id never shows in a channel.
   */
  private async announceInterrupted(resumed: ReadonlySet<string>): Promise<void> {
    const { app } = this.context;
    const now = Date.now();
    // With a queue, workers may be running runs now: only runs older than the longest a run may
    // take are certainly stranded.
    const startedBefore = this.queued === null ? Number.POSITIVE_INFINITY : now - app.config.limits.runTimeoutMs - STRANDED_MARGIN_MS;
    const stranded = await app.memory.episodes.markInterrupted('Cairn restarted before this run finished', now, resumed, startedBefore);
    for (const episode of stranded) {
      const scheduled = episode.trigger === 'schedule';
      const channelId = episode.scope.channelId;
      const where = episode.visibility === 'private' || channelId === undefined ? null : channelId;
      await this.tell(
        { userId: scheduled ? null : episode.scope.userId, channelId: where },
        // The goal is not repeated: the run may have been private.
        scheduled
          ? `⚠️ Scheduled run \`${episode.id}\` was interrupted when Cairn restarted; the schedule carries on.`
          : `⚠️ ${where === null ? 'Your' : `<@${episode.scope.userId}>, your`} run \`${episode.id}\` was interrupted when Cairn restarted. \`/runs show id:${episode.id}\` shows how far it got.`,
      ).catch((error: unknown) => {
        this.context.log.warn({ err: error, runId: episode.id, reason: explainDiscordError(error) }, 'could not announce an interrupted run');
      });
    }
  }

  /** A notice for one person: in a channel with a mention of them, or (channel null) by DM. */
  private async tell(to: { userId: string | null; channelId: string | null }, content: string): Promise<void> {
    if (to.channelId !== null) {
      await sendToChannel(this.client, to.channelId, { content, allowedMentions: { users: to.userId === null ? [] : [to.userId] } });
    } else if (to.userId !== null) {
      await (await this.client.users.fetch(to.userId)).send(content);
    }
  }

  /**
   * Graceful shutdown: take no new runs, let running ones finish within the grace period,
   * interrupt the rest (saying so in their channels), then close memory and the connection.
   */
  /** Connected, its interrupted runs resumed, and taking new runs (`/readyz`). */
  ready(): boolean {
    return this.state.ready && this.state.accepting;
  }

  async stop(): Promise<void> {
    this.state.accepting = false;
    const { app, runs, log, scheduler, limiter } = this.context;
    // Runs still waiting for a slot never started: their starters are told to try again.
    limiter.closeLine('Cairn is restarting, so your run did not start. Start it again in a minute.');
    scheduler.stop();
    // Takes no more queued runs; resolves once the runs under way here have ended or been suspended (below).
    const workerClosed = this.queued?.worker?.close().catch((error: unknown) => {
      log.warn({ err: error }, 'could not close the queue worker cleanly');
    });
    const interrupted = await runs.drain(app.config.discord.shutdownGraceMs);
    for (const run of interrupted) {
      if (run.durable === true) {
        // Suspended, not ended: the next start resumes it where it stopped.
        const channelId = run.private ? null : run.channelId;
        const back = this.queued === null ? 'when Cairn is back' : 'as soon as a worker takes it';
        const note = run.scheduled
          ? `⏸️ Cairn is restarting: scheduled run \`${run.runId}\` is paused and will carry on from where it stopped ${back}.`
          : `⏸️ ${channelId === null ? 'Cairn' : `<@${run.userId}>, Cairn`} is restarting: your run \`${run.runId}\` is paused and will carry on from where it stopped ${back}.`;
        await this.tell({ userId: run.scheduled ? null : run.userId, channelId }, note).catch(() => undefined);
        continue;
      }
      await app.memory.episodes.interrupt(run.runId, 'Cairn was shutting down', Date.now()).catch((error: unknown) => {
        log.error({ err: error, runId: run.runId }, 'could not mark a run interrupted');
      });
      // A private run's notice goes to its starter alone.
      const channelId = run.private ? null : run.channelId;
      const note = run.scheduled
        ? `⚠️ Cairn is restarting, so scheduled run \`${run.runId}\` was interrupted; it will be caught up when Cairn is back.`
        : `⚠️ ${channelId === null ? 'Cairn' : `<@${run.userId}>, Cairn`} is restarting, so your run \`${run.runId}\` was interrupted. Please start it again in a minute.`;
      await this.tell({ userId: run.scheduled ? null : run.userId, channelId }, note).catch(() => undefined);
    }
    log.info({ interrupted: interrupted.length }, 'shutting down');
    // Interrupted scheduled runs still record how they ended before memory closes.
    await scheduler.settled();
    await scheduler.close();
    await workerClosed;
    await this.queued?.close();
    await this.approvalStore.close();
    await app.close();
    await this.client.destroy();
  }
}

/** Which parts of Cairn a process runs: the gateway (Discord events in), the worker (runs), or both. */
export interface BotRoles {
  gateway: boolean;
  worker: boolean;
}

const BOTH_ROLES: BotRoles = { gateway: true, worker: true };

/** Past its run time limit and this much more, a run is not running anywhere. */
const STRANDED_MARGIN_MS = 60_000;
