/**
 * One Discord REST budget for every Cairn process: `cairn rest-proxy` forwards Discord API
 * requests through one rate limiter (@discordjs/proxy over discord.js's REST), and every other
 * process points DISCORD_REST_URL at it. Each process's own limiter only knows its own requests
 * (`globalRequestsPerSecond` is per process), so N processes could spend N times the bot's global
 * budget (discord-api-docs, Rate Limits > Global Rate Limit: 50 requests a second per bot).
 * Requests keep their own Authorization header (the proxy forwards it); interaction traffic is
 * kept out of the global budget here too (src/discord/rest-budget.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { proxyRequests } from '@discordjs/proxy';
import { REST } from '@discordjs/rest';
import { Routes } from 'discord.js';
import { z } from 'zod';
import type { Logger } from '../log.js';
import { errorMessage } from '../text.js';
import { exemptingInteractions } from '../discord/rest-budget.js';

/**
 * @discordjs/rest as this ESM module imports it: the copy whose error classes @discordjs/proxy
 * checks (discord.js's CommonJS copy throws others, and the proxy then answered 200 to a 404).
 */
const ProxyREST = exemptingInteractions(REST);

export interface RestProxyOptions {
  host: string;
  port: number;
  /** Discord's API (the default), or another base (a test's fake Discord). */
  upstream: string | undefined;
  /** The bot's token: read once to learn the application's id (its interaction webhook is exempt). */
  token: string | undefined;
  globalRequestsPerSecond: number;
  log: Logger;
}

export interface RestProxy {
  port: number;
  close(): Promise<void>;
}

export async function startRestProxy(options: RestProxyOptions): Promise<RestProxy> {
  const rest = new ProxyREST({ globalRequestsPerSecond: options.globalRequestsPerSecond, ...(options.upstream === undefined ? {} : { api: options.upstream }) });
  if (options.token !== undefined) {
    rest.setToken(options.token);
    const application = z.object({ id: z.string() }).parse(await rest.get(Routes.currentApplication()));
    rest.setApplicationId(application.id);
  }
  const handle = proxyRequests(rest);
  const server: Server = createServer((req, res) => {
    Promise.resolve(handle(req, res)).catch((error: unknown) => {
      // Not a Discord answer (the upstream unreachable, a malformed request): a 502, and the reason in the log.
      options.log.warn({ err: error, method: req.method }, 'the REST proxy could not forward a request');
      if (!res.headersSent) res.statusCode = 502;
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => {
      reject(new Error(`Could not listen on ${options.host}:${options.port} (CAIRN_REST_PROXY_HOST, CAIRN_REST_PROXY_PORT): ${errorMessage(error)}`));
    });
    server.listen(options.port, options.host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
      rest.clearHashSweeper();
      rest.clearHandlerSweeper();
    },
  };
}
