import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AGENT_MODES } from './agent/agent.js';
import type { AgentMode } from './agent/events.js';
import type { App } from './app.js';
import { ConfigError, loadConfig, secretsOf, type Config, type Requirement } from './config.js';
import { MEMORY_USAGE, MemoryUsageError } from './console/memory-usage.js';
import { SCHEDULE_USAGE, ScheduleUsageError } from './console/schedule-usage.js';
import { createLogger, type Logger } from './log.js';
import { errorMessage } from './text.js';

const USAGE = `Cairn — an autonomous agent with memory, for Discord and the terminal.

Usage:
  cairn run "<goal>" [--mode react|plan|reflexion] [--max-steps n] [--json] [--workspace dir] [--yes] [--file path]...
      Run the agent once. Prints each step as it happens, then the answer and a summary.
      Modes: react (think, act, observe; the default), plan (plan tasks with dependencies,
      carry them out, replan when one fails), reflexion (attempt, check, reflect, retry).
      Risky tool calls ask for approval (y/n); --yes approves them all; with no terminal
      and no --yes they are denied.
      --file gives the run a file (up to 3: text, CSV, JSON, PDF, DOCX, images), read as data.
      --json prints one JSON object instead: {status, answer, steps, usage, costUsd, ...}.
      Exit code 0 only when the run succeeded.
  cairn chat [--mode react|plan|reflexion] [--max-steps n] [--yes]
      An interactive conversation with the same agent (/reset, /exit).
  cairn bot [--worker | --no-worker]
      Run the Discord bot (same as npm start). Needs DISCORD_TOKEN. It runs the gateway (Discord
      events in) and a worker (runs) in one process; with CAIRN_REDIS_URL, --no-worker runs the
      gateway alone and queues runs for \`cairn worker\` processes.
  cairn worker               With CAIRN_REDIS_URL: take runs from the queue and post to Discord over REST.
  cairn rest-proxy           One Discord REST budget for several processes: they set DISCORD_REST_URL
      to http://<CAIRN_REST_PROXY_HOST>:<CAIRN_REST_PROXY_PORT>/api.
  cairn doctor [--json]
      Check the setup (model server, tool calls, JSON output, context length, embeddings,
      Discord, sandbox, data directory, web search) and say what to fix. Exit 0 when the bot can run.
  cairn deploy-commands [--guild id]
      Register the slash commands in one guild (instant) or globally.
  cairn memory search|list|forget|export|stats|reembed ...
      Look into and manage long-term memory (cairn memory help).
  cairn schedule add|list|remove|pause|resume|run ...
      Goals run on a cron schedule, reported in a Discord channel (cairn schedule help).
  cairn help | --help        This text.
  cairn --version            The version.

Configuration comes from the environment or a .env file in the current directory
(see .env.example). Exit codes: 0 success, 1 run failed or stopped, 2 bad usage or configuration.`;

/** Raised for bad command-line input: printed with a hint, exit code 2. */
class UsageError extends Error {}

interface CommonOptions {
  mode: AgentMode;
  maxSteps: number | undefined;
}

function parseCommon(values: { mode?: string | undefined; 'max-steps'?: string | undefined }): CommonOptions {
  const mode = values.mode ?? 'react';
  if (!(AGENT_MODES as readonly string[]).includes(mode)) {
    throw new UsageError(`--mode "${mode}" is not available. Available modes: ${AGENT_MODES.join(', ')}.`);
  }
  let maxSteps: number | undefined;
  if (values['max-steps'] !== undefined) {
    maxSteps = Number(values['max-steps']);
    if (!Number.isInteger(maxSteps) || maxSteps < 1 || maxSteps > 500) {
      throw new UsageError(`--max-steps must be a whole number from 1 to 500 (got "${values['max-steps']}").`);
    }
  }
  return { mode: mode as AgentMode, maxSteps };
}

function version(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg ? String(pkg.version) : 'unknown';
}

/** Config and logger for a terminal command; logs stay quiet (warn) unless LOG_LEVEL asks for more. */
function terminalSetup(needs: Requirement[], service = false): { config: Config; log: Logger } {
  const config = loadConfig(process.env, needs);
  // A long-running service logs at info by default; terminal commands stay quiet.
  const level = service || (process.env.LOG_LEVEL !== undefined && process.env.LOG_LEVEL !== '') ? config.logLevel : 'warn';
  return { config, log: createLogger({ level, secrets: secretsOf(config) }) };
}

/** Runs a command with the whole app, closing it (and the memory database) afterwards. */
async function withApp(use: (app: App) => Promise<number>, options: { externalTools?: boolean } = {}): Promise<number> {
  const { config, log } = terminalSetup(['llm']);
  // Loaded on demand: LanceDB and the embedder cost a second at start-up that help and usage errors need not pay.
  const { createApp } = await import('./app.js');
  const app = await createApp(config, log, options);
  try {
    return await use(app);
  } finally {
    await app.close();
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    case '--version':
    case '-v':
      process.stdout.write(`${version()}\n`);
      return 0;
    case 'run': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          mode: { type: 'string' },
          'max-steps': { type: 'string' },
          json: { type: 'boolean', default: false },
          workspace: { type: 'string' },
          yes: { type: 'boolean', default: false },
          file: { type: 'string', multiple: true },
        },
      });
      const goal = positionals.join(' ').trim();
      if (goal === '') throw new UsageError('cairn run needs a goal, e.g. cairn run "What time is it in Tokyo?"');
      const common = parseCommon(values);
      const { runRunCommand } = await import('./console/run-command.js');
      return withApp((app) => runRunCommand(app, { goal, ...common, json: values.json, workspaceDir: values.workspace, yes: values.yes, files: values.file ?? [] }));
    }
    case 'chat': {
      const { values } = parseArgs({ args: rest, options: { mode: { type: 'string' }, 'max-steps': { type: 'string' }, yes: { type: 'boolean', default: false } } });
      const common = parseCommon(values);
      const { runChatCommand } = await import('./console/chat-command.js');
      return withApp((app) => runChatCommand(app, { ...common, yes: values.yes }));
    }
    case 'memory': {
      if (rest[0] === undefined || rest[0] === 'help' || rest[0] === '--help') {
        process.stdout.write(`${MEMORY_USAGE}\n`);
        return rest[0] === undefined ? 2 : 0;
      }
      const { config, log } = terminalSetup(['memory']);
      const { runMemoryCommand } = await import('./console/memory-command.js');
      return runMemoryCommand(rest, config, log);
    }
    case 'schedule': {
      if (rest[0] === undefined || rest[0] === 'help' || rest[0] === '--help') {
        process.stdout.write(`${SCHEDULE_USAGE}\n`);
        return rest[0] === undefined ? 2 : 0;
      }
      const { runScheduleCommand } = await import('./console/schedule-command.js');
      // Only `run` runs the agent; managing schedules needs no sandbox probe or MCP servers.
      return withApp((app) => runScheduleCommand(app, rest), { externalTools: rest[0] === 'run' });
    }
    case 'bot': {
      const { values } = parseArgs({ args: rest, options: { worker: { type: 'boolean' }, 'no-worker': { type: 'boolean' } } });
      if (values.worker === true && values['no-worker'] === true) throw new UsageError('Give --worker or --no-worker, not both.');
      const { config, log } = terminalSetup(['llm', 'discord'], true);
      const { runBotCommand } = await import('./console/bot-command.js');
      return runBotCommand(config, log, { gateway: true, worker: values['no-worker'] !== true });
    }
    case 'worker': {
      parseArgs({ args: rest, options: {} });
      const { config, log } = terminalSetup(['llm', 'discord'], true);
      const { runBotCommand } = await import('./console/bot-command.js');
      return runBotCommand(config, log, { gateway: false, worker: true });
    }
    case 'rest-proxy': {
      parseArgs({ args: rest, options: {} });
      const { config, log } = terminalSetup(['discord'], true);
      const { runRestProxyCommand } = await import('./console/rest-proxy-command.js');
      return runRestProxyCommand(config, log);
    }
    case 'doctor': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean', default: false } } });
      const { config, log } = terminalSetup(['llm']);
      const { runDoctorCommand } = await import('./console/doctor.js');
      return runDoctorCommand(config, log, { json: values.json });
    }
    case 'deploy-commands': {
      const { values } = parseArgs({ args: rest, options: { guild: { type: 'string' } } });
      const { config } = terminalSetup(['discord']);
      const { runDeployCommand } = await import('./console/bot-command.js');
      return runDeployCommand(config, values.guild ?? config.discord.guildId);
    }
    default:
      throw new UsageError(`Unknown command "${command}".`);
  }
}

/** Entry point: returns the process exit code; never lets a stack trace reach the user. */
export async function main(argv: string[]): Promise<number> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  try {
    return await dispatch(argv);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    if (error instanceof UsageError || error instanceof MemoryUsageError || error instanceof ScheduleUsageError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`cairn: ${error.message}\nRun "cairn help" for usage.\n`);
      return 2;
    }
    process.stderr.write(`cairn: ${errorMessage(error)}\n`);
    return 1;
  }
}
