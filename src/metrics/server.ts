/**
 * The operator's endpoints, on CAIRN_METRICS_PORT: `/healthz` (the process answers), `/readyz`
 * (it is connected and taking runs: 503 while starting or shutting down) and `/metrics`
 * (Prometheus text). Only GET and HEAD; nothing a user sent is ever echoed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CairnMetrics } from './metrics.js';

export interface OpsServer {
  /** Where it listens (the port chosen when 0 was asked for). */
  port: number;
  close(): Promise<void>;
}

export async function startOpsServer(options: { host: string; port: number; metrics: CairnMetrics; ready: () => boolean }): Promise<OpsServer> {
  const server: Server = createServer((request, response) => {
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      send(405, 'method not allowed\n');
      return;
    }
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/healthz') send(200, 'ok\n');
    else if (path === '/readyz') send(options.ready() ? 200 : 503, options.ready() ? 'ready\n' : 'not ready\n');
    else if (path === '/metrics') {
      options.metrics.registry.metrics().then(
        (text) => {
          send(200, text, options.metrics.registry.contentType);
        },
        () => {
          send(500, 'metrics unavailable\n');
        },
      );
    } else send(404, 'not found\n');
  });
  // A slow or idle client cannot hold a socket open for long.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
