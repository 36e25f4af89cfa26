/**
 * A tiny scriptable web site on 127.0.0.1 for the HTTP tool tests. The tools refuse loopback, so
 * tests reach it through a transport that dials public-looking addresses here instead.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Transport } from '../../src/tools/web/fetch.js';

export interface SeenRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** Lower-case names, as node:http delivers them. */
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export type Route = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export interface FakeWebServer {
  port: number;
  requests: SeenRequest[];
  /** Serves `path` (without query) with `route`; later calls replace earlier ones. */
  route(path: string, route: Route): void;
  /** Resolves when a request to `path` ends, on either side, before its response finished. */
  abandoned(path: string): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeWebServer(): Promise<FakeWebServer> {
  const routes = new Map<string, Route>();
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const abandonWaiters = new Map<string, () => void>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '/';
      requests.push({ method: req.method ?? '', path, headers: req.headers, body });
      const pathname = path.split('?')[0] ?? path;
      res.on('close', () => {
        if (!res.writableFinished) abandonWaiters.get(pathname)?.();
      });
      const route = routes.get(pathname);
      if (route === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`no route for ${pathname}`);
        return;
      }
      route(req, res, body);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    port,
    requests,
    route(path, route) {
      routes.set(path, route);
    },
    abandoned(path) {
      return new Promise((resolve) => {
        abandonWaiters.set(path, resolve);
      });
    },
    async close() {
      // Hanging routes keep their sockets open; end them rather than wait.
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}

/** A route answering with a fixed status, headers and body. */
export function reply(status: number, headers: Record<string, string>, body: string | Buffer = ''): Route {
  return (_req, res) => {
    res.writeHead(status, headers).end(body);
  };
}

/** A route that redirects to `location` with `status`. */
export function redirect(location: string, status = 302): Route {
  return reply(status, { location, 'content-type': 'text/plain' }, `see ${location}`);
}

/** Public-looking names for the fake site, plus names that resolve somewhere forbidden. */
export const FAKE_DNS: Partial<Record<string, string[]>> = {
  'example.test': ['93.184.216.34'],
  'sub.example.test': ['93.184.216.34'],
  'other.test': ['93.184.216.35'],
  'v6.test': ['2606:2800:220:1:248:1893:25c8:1946', '93.184.216.34'],
  'private.test': ['10.0.0.5'],
  'mixed.test': ['93.184.216.36', '10.0.0.5'],
  'metadata.test': ['169.254.169.254'],
  'mapped.test': ['::ffff:127.0.0.1'],
};

export interface RecordingTransport extends Transport {
  /** "address:port" of every dial, i.e. every address that passed the policy. */
  dialed: string[];
  resolved: string[];
}

/** Resolves from FAKE_DNS and dials every (already checked) address to the fake site. */
export function fakeTransport(server: FakeWebServer): RecordingTransport {
  const dialed: string[] = [];
  const resolved: string[] = [];
  return {
    dialed,
    resolved,
    resolve(hostname) {
      resolved.push(hostname);
      const found = FAKE_DNS[hostname];
      if (found !== undefined) return Promise.resolve(found);
      return Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
    },
    dial(address, port) {
      dialed.push(`${address}:${port}`);
      return { host: '127.0.0.1', port: server.port };
    },
  };
}
