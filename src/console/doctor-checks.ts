/**
 * `cairn doctor`'s checks outside the model server: Discord (token and intents), the run_code
 * sandbox, the data directory and web search.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Config } from '../config.js';
import { detectSandbox } from '../tools/sandbox/detect.js';
import { errorMessage, oneLine } from '../text.js';
import { bounded, type CheckResult } from './doctor-report.js';
import { configureLance } from '../memory/lance-env.js';

const DISCORD_TIMEOUT_MS = 5_000;
/** Python's first start on a cold disk is slow; the sandbox's own probe allows it most of this. */
const SANDBOX_TIMEOUT_MS = 8_000;
/** Loading LanceDB's native module takes a second or two on a busy machine. */
const DATA_DIR_TIMEOUT_MS = 8_000;

const DEFAULT_DISCORD_API = 'https://discord.com/api';
const PORTAL = 'https://discord.com/developers/applications';

/**
 * Application flags (Discord docs, Resources > Application > Application Flags; discord-api-types'
 * ApplicationFlags agrees): the Message Content intent is enabled when either bit is set — the
 * first once a verified app is approved for it, the second (LIMITED) for apps under 100 servers.
 */
const GATEWAY_MESSAGE_CONTENT = 1 << 18;
const GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19;

const DiscordUser = z.looseObject({ id: z.string(), username: z.string(), bot: z.boolean().optional() });
const DiscordApplication = z.looseObject({ id: z.string(), name: z.string(), flags: z.number().int().optional() });

/** A GET on Discord's REST API as the bot; never throws for HTTP errors, only for the network. */
async function discordGet(base: string, route: string, token: string, signal: AbortSignal): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${base}/v10${route}`, { headers: { authorization: `Bot ${token}` }, signal });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body };
}

/** The token is valid (GET /users/@me), and which intents the application has (GET /applications/@me). */
export function discordChecks(config: Config): Promise<CheckResult[]> {
  const token = config.discord.token;
  if (token === undefined) {
    return Promise.resolve([{ name: 'discord', status: 'skip', detail: 'DISCORD_TOKEN is not set: Discord checks skipped (cairn run and cairn chat work without it)' }]);
  }
  const base = (config.discord.restUrl ?? DEFAULT_DISCORD_API).replace(/\/+$/, '');
  const where = new URL(base).host;
  return bounded({ name: 'discord token', timeoutMs: DISCORD_TIMEOUT_MS, onTimeout: 'fail', timeoutFix: `Check the network${config.discord.restUrl === undefined ? '' : ' and DISCORD_REST_URL'}.` }, async (signal) => {
    let me: { status: number; body: unknown };
    try {
      me = await discordGet(base, '/users/@me', token, signal);
    } catch (err) {
      return [{ name: 'discord token', status: 'fail', detail: `cannot reach Discord at ${where}: ${oneLine(errorMessage(err), 200)}`, fix: `Check the network${config.discord.restUrl === undefined ? '' : ' and DISCORD_REST_URL'}.` }];
    }
    if (me.status === 401) {
      return [{ name: 'discord token', status: 'fail', detail: 'Discord refused DISCORD_TOKEN (401 Unauthorized)', fix: `Reset the bot's token at ${PORTAL} (your application > Bot > Reset Token) and set DISCORD_TOKEN to it.` }];
    }
    const user = DiscordUser.safeParse(me.body);
    if (me.status !== 200 || !user.success) {
      return [{ name: 'discord token', status: 'fail', detail: `GET /users/@me answered HTTP ${me.status}${user.success ? '' : ' with an unexpected body'}`, fix: 'Check DISCORD_TOKEN and DISCORD_REST_URL.' }];
    }
    const tokenRow: CheckResult = { name: 'discord token', status: 'ok', detail: `valid: bot user ${user.data.username} (${user.data.id})` };
    return [tokenRow, await intentsRow(base, token, config.discord.messageContent, signal)];
  });
}

/** Where the Message Content intent is switched on (the fix when CAIRN_MESSAGE_CONTENT=on asks for it in vain). */
const INTENT_FIX =
  `Turn it on at ${PORTAL}: your application → Bot → Privileged Gateway Intents → Message Content Intent ` +
  '(past 100 servers the app must be verified and approved for it), or set CAIRN_MESSAGE_CONTENT=off.';

/**
 * Whether the application may have the Message Content intent, against whether Cairn asks for it:
 * with CAIRN_MESSAGE_CONTENT=off nothing privileged is asked for and the flag is only reported;
 * with `on`, an application without it is a failure, as Discord would refuse the gateway (4014).
 */
async function intentsRow(base: string, token: string, wanted: boolean, signal: AbortSignal): Promise<CheckResult> {
  const name = 'discord intents';
  const setting = `CAIRN_MESSAGE_CONTENT=${wanted ? 'on' : 'off'}`;
  // Off, Cairn asks for no privileged intent (src/discord/client.ts): mentions, DMs and replies to the bot carry their text.
  const asks = wanted ? `${setting} asks for the Message Content intent` : `${setting}: Cairn asks for no privileged intent`;
  // Only a warning when the flags cannot be read: the token row already says whether Discord answers.
  const unread = (why: string): CheckResult => ({
    name,
    status: 'warn',
    detail: `${asks}; could not read the application: ${why}`,
    ...(wanted ? { fix: `Check that the intent is on: ${INTENT_FIX}` } : {}),
  });
  let app: { status: number; body: unknown };
  try {
    app = await discordGet(base, '/applications/@me', token, signal);
  } catch (err) {
    return unread(oneLine(errorMessage(err), 200));
  }
  const parsed = DiscordApplication.safeParse(app.body);
  if (app.status !== 200 || !parsed.success) return unread(`GET /applications/@me answered HTTP ${app.status}`);
  const flags = parsed.data.flags ?? 0;
  const approved = (flags & GATEWAY_MESSAGE_CONTENT) !== 0;
  const limited = (flags & GATEWAY_MESSAGE_CONTENT_LIMITED) !== 0;
  const appName = parsed.data.name;
  if (!wanted) return { name, status: 'ok', detail: `${asks}; Message Content intent is ${approved || limited ? 'enabled' : 'off'} for ${appName} (not needed)` };
  if (!approved && !limited) {
    return { name, status: 'fail', detail: `${asks}, but it is not enabled for ${appName}: Discord would refuse the connection (close code 4014)`, fix: INTENT_FIX };
  }
  return { name, status: 'ok', detail: `${asks}; it is enabled for ${appName} (${approved ? 'approved' : 'under 100 servers'})` };
}

/** run_code's sandbox, probed the way runs use it (src/tools/sandbox/detect.ts). */
export function sandboxCheck(config: Config): Promise<CheckResult[]> {
  const name = 'sandbox';
  const { setting, python } = config.runCode;
  if (setting === 'off') return Promise.resolve([{ name, status: 'skip', detail: 'CAIRN_RUN_CODE=off: run_code is not offered' }]);
  const mode = setting === 'unsandboxed' ? 'unsandboxed' : 'sandbox';
  return bounded({ name, timeoutMs: SANDBOX_TIMEOUT_MS, onTimeout: 'warn', timeoutFix: 'The sandbox probe is slow here; run_code may time out.' }, async () => {
    const status = await detectSandbox({ mode, python, timeoutMs: SANDBOX_TIMEOUT_MS - 1_000 });
    if (!status.available) {
      return [
        {
          name,
          status: 'warn',
          detail: `run_code is not offered: ${status.reason}`,
          fix: 'Install what is missing, set CAIRN_RUN_CODE=off to turn run_code off, or CAIRN_RUN_CODE=unsandboxed to run code without isolation.',
        },
      ];
    }
    if (mode === 'unsandboxed') {
      return [{ name, status: 'warn', detail: `run_code runs Python ${status.pythonVersion} WITHOUT isolation (CAIRN_RUN_CODE=unsandboxed)`, fix: 'Install bubblewrap and set CAIRN_RUN_CODE=auto.' }];
    }
    return [{ name, status: 'ok', detail: `bubblewrap sandbox works (Python ${status.pythonVersion})` }];
  });
}

/** Remote URIs (s3://…) go to LanceDB as they are; only local paths are written to. */
const REMOTE_URI = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The data directory takes a file, and LanceDB opens it. */
export function dataDirCheck(config: Config): Promise<CheckResult[]> {
  const name = 'data directory';
  const dir = config.dataDir;
  const fix = 'Create the directory and let the user running Cairn write to it, or set CAIRN_DATA_DIR to a writable path.';
  return bounded({ name, timeoutMs: DATA_DIR_TIMEOUT_MS, onTimeout: 'warn', timeoutFix: 'The disk or LanceDB is slow here; check the data directory.' }, async () => {
    const remote = REMOTE_URI.test(dir);
    if (!remote) {
      const probe = path.join(dir, `.cairn-doctor-${randomBytes(4).toString('hex')}`);
      try {
        // The bot creates the directory on start as well; creating it here is what it would do.
        await mkdir(dir, { recursive: true });
        await writeFile(probe, 'cairn doctor write test\n');
        await rm(probe, { force: true });
      } catch (err) {
        const code = err instanceof Error && 'code' in err ? String(err.code) : oneLine(errorMessage(err), 200);
        return [{ name, status: 'fail', detail: `${dir} is not writable (${code})`, fix }];
      }
    }
    try {
      // Loaded here only: the native module costs a second that the other checks need not wait for.
      const lancedb = await import('@lancedb/lancedb');
      configureLance();
      const connection = await lancedb.connect(dir);
      const tables = await connection.tableNames();
      connection.close();
      return [{ name, status: 'ok', detail: `${dir}${remote ? '' : ' is writable;'} LanceDB opens (${tables.length} table${tables.length === 1 ? '' : 's'})` }];
    } catch (err) {
      return [{ name, status: 'fail', detail: `LanceDB cannot open ${dir}: ${oneLine(errorMessage(err), 300)}`, fix: remote ? 'Check the URI and the storage credentials LanceDB reads from the environment.' : fix }];
    }
  });
}

/** web_search is offered only with a provider configured; without one the bot still runs. */
export function webSearchCheck(config: Config): Promise<CheckResult[]> {
  const name = 'web search';
  const searxng = config.search.searxngUrl;
  const brave = config.search.braveApiKey !== undefined;
  if (searxng === undefined && !brave) {
    return Promise.resolve([
      { name, status: 'warn', detail: 'no provider configured: web_search is not offered', fix: 'Set CAIRN_SEARXNG_URL (a SearXNG instance with the JSON format on) or CAIRN_BRAVE_API_KEY.' },
    ]);
  }
  // Only what is configured: a search query here would spend Brave quota on every doctor run.
  const providers = [searxng === undefined ? '' : `SearXNG at ${new URL(searxng).host}`, brave ? 'Brave Search (key set)' : ''].filter((p) => p !== '');
  return Promise.resolve([{ name, status: 'ok', detail: `configured: ${providers.join(', then ')}` }]);
}
