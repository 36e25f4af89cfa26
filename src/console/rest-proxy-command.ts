import type { Config } from '../config.js';
import type { Logger } from '../log.js';

/** `cairn rest-proxy`: forwards Discord REST requests through one budget until SIGTERM or SIGINT. */
export async function runRestProxyCommand(config: Config, log: Logger): Promise<number> {
  const { startRestProxy } = await import('../rest-proxy/proxy.js');
  const proxy = await startRestProxy({
    ...config.restProxy,
    upstream: config.discord.restUrl,
    token: config.discord.token,
    globalRequestsPerSecond: config.discord.globalRequestsPerSecond,
    log,
  });
  log.info({ host: config.restProxy.host, port: proxy.port }, 'forwarding Discord REST requests through one budget');
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  log.info({ signal }, 'stopping');
  await proxy.close();
  return 0;
}
