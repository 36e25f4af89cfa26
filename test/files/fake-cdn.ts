/**
 * A stand-in for Discord's attachment CDN on 127.0.0.1. Like cdn.discordapp.com it answers a GET
 * for /attachments/<channel>/<attachment>/<name>?ex=…&is=…&hm=… (signed URLs, Discord docs:
 * Reference → "Signed Attachment CDN URLs") with the bytes, Content-Type and Content-Length;
 * routes can also misbehave (lie about the length, redirect, fail, stall, reset).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface FakeCdn {
  origin: string;
  /** Paths asked for, in order (without the query). */
  requests: string[];
  /** A signed-looking URL for `path` on this server. */
  url(path: string): string;
  /** Serves `bytes` at `path` as Discord's CDN does. */
  file(path: string, bytes: Buffer, contentType?: string): void;
  route(path: string, handler: Handler): void;
  close(): Promise<void>;
}

export async function startFakeCdn(): Promise<FakeCdn> {
  const routes = new Map<string, Handler>();
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(path);
    const handler = routes.get(path);
    if (handler === undefined) {
      // What the real CDN says for an unknown or expired attachment.
      res.writeHead(404, { 'content-type': 'text/plain' }).end('This content is no longer available.');
      return;
    }
    handler(req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    requests,
    url: (path) => `${origin}${path}?ex=6a000000&is=69f00000&hm=${'ab'.repeat(32)}&`,
    file(path, bytes, contentType = 'application/octet-stream') {
      routes.set(path, (_req, res) => {
        res.writeHead(200, { 'content-type': contentType, 'content-length': bytes.length }).end(bytes);
      });
    },
    route: (path, handler) => routes.set(path, handler),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => { resolve(); });
      }),
  };
}
