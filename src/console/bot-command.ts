import { ConfigError, type Config } from '../config.js';
import type { BotRoles } from '../discord/bot.js';
import type { App } from '../app.js';
import type { Logger } from '../log.js';
import type { OpsServer } from '../metrics/server.js';
import { errorMessage } from '../text.js';

/** Hard limit after SIGTERM: whatever is still going, the process is gone by then. */
const EXIT_DEADLINE_MS = 9_500;

/**
 * `cairn bot` and `cairn worker`: runs the Discord bot in its roles (src/discord/queue-roles.ts)
 * until SIGTERM or SIGINT, then shuts down gracefully.
 */
export async function runBotCommand(config: Config, log: Logger, roles: BotRoles = { gateway: true, worker: true }): Promise<number> {
  if (config.queue.redisUrl === null && !(roles.gateway && roles.worker)) {
    throw new ConfigError([roles.gateway ? 'CAIRN_REDIS_URL: `cairn bot --no-worker` queues runs for workers; set it to the Redis they share' : 'CAIRN_REDIS_URL: `cairn worker` takes runs from a queue; set it to the Redis the gateway queues them in']);
  }
  // Listen before anything else: a signal during start-up must still end in a clean shutdown.
  // `on`, not `once`: a library's exit hook (proper-lockfile's signal-exit) re-raises a signal it
  // finds no other listener for, which killed the process mid-shutdown. A second signal forces exit.
  let signalled = false;
  const stopRequested = new Promise<string>((resolve) => {
    const onSignal = (signal: string) => {
      if (signalled) process.exit(1);
      signalled = true;
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  const { createApp } = await import('../app.js');
  const { DiscordBot } = await import('../discord/bot.js');
  const app = await createApp(config, log, { startReflector: false });
  let bot: Awaited<ReturnType<typeof DiscordBot.start>> | undefined;
  // Served from the start: /healthz answers while connecting, /readyz once the bot takes runs.
  const ops = config.metrics.port === null ? null : await startOps(config, app, () => bot?.ready() ?? false, log);
  try {
    bot = await DiscordBot.start(app, { roles });
  } catch (error) {
    await ops?.close();
    await app.close();
    throw new Error(`Could not connect to Discord: ${errorMessage(error)}. Check DISCORD_TOKEN (and DISCORD_REST_URL if you set it).`, {
      cause: error,
    });
  }
  const signal = await stopRequested;
  log.info({ signal }, 'stopping');
  setTimeout(() => {
    log.error('shutdown took too long; exiting now');
    process.exit(1);
  }, EXIT_DEADLINE_MS).unref();
  await bot.stop();
  await ops?.close();
  return 0;
}

async function startOps(config: Config, app: App, ready: () => boolean, log: Logger): Promise<OpsServer> {
  const { startOpsServer } = await import('../metrics/server.js');
  const { host, port } = config.metrics;
  try {
    const ops = await startOpsServer({ host, port: port ?? 0, metrics: app.metrics, ready });
    log.info({ host, port: ops.port }, 'serving /healthz, /readyz and /metrics');
    return ops;
  } catch (error) {
    await app.close();
    throw new Error(`Could not serve /metrics on ${host}:${String(port)} (CAIRN_METRICS_HOST, CAIRN_METRICS_PORT): ${errorMessage(error)}.`, { cause: error });
  }
}

/** `cairn deploy-commands [--guild id]`: registers the slash commands over REST. */
export async function runDeployCommand(config: Config, guildId: string | undefined): Promise<number> {
  const { deployCommands } = await import('../discord/bot.js');
  const count = await deployCommands(config, guildId);
  process.stdout.write(
    guildId === undefined
      ? `Registered ${count} commands globally (Discord may take up to an hour to show them everywhere).\n`
      : `Registered ${count} commands in guild ${guildId} (available now).\n`,
  );
  return 0;
}
