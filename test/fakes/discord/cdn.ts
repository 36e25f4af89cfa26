/**
 * The fake's CDN: Discord serves every attachment from its CDN, not from the API. Written from
 * Discord's docs:
 *
 * - Resources > Message > Attachment Object: `id, filename, size, url, proxy_url, content_type,
 *   width, height` (width and height for images only).
 * - Reference > Signed Attachment CDN URLs: attachment URLs look like
 *   `https://cdn.discordapp.com/attachments/<channel id>/<attachment id>/<filename>?ex=…&is=…&hm=…`,
 *   `ex` the expiry and `is` the issue time (unix seconds, hex) and `hm` a signature; an unsigned,
 *   tampered or expired URL is not served (404 "This content is no longer available.").
 * - Reference > Uploading Files: at most 10 files per message; the default upload limit is
 *   10 MiB per file (discord-api-docs #7312, in force for bots since 2024 and for webhooks and
 *   interaction responses since 2025-01-16; `attachment_size_limit` on interactions, #7451).
 *   Larger: 413 with code 40005 "Request entity too large"; more files: 50035.
 *
 * It listens on its own origin on 127.0.0.1 (the bot's DISCORD_CDN_URL points at it), serves the
 * files tests upload and the files the bot sends, and records every request it gets.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Discord's default upload limit per file (Reference > Uploading Files; discord-api-docs #7312). */
export const UPLOAD_LIMIT_BYTES = 10 * 1024 * 1024;
/** Files per message (Reference > Uploading Files). */
export const MAX_FILES_PER_MESSAGE = 10;
/** How long a signed URL lives (Discord's are about a day). */
const URL_LIFETIME_S = 24 * 60 * 60;

/** An Attachment Object as Discord sends it (Resources > Message > Attachment Object). */
export interface FakeUpload {
  id: string;
  filename: string;
  size: number;
  url: string;
  proxy_url: string;
  content_type?: string;
  width?: number;
  height?: number;
}

/** An uploaded Attachment Object as the fake stores it on a user's message. */
export function storedAttachment(upload: FakeUpload): { id: string; filename: string; size: number; url: string; contentType?: string; width?: number; height?: number } {
  return {
    id: upload.id,
    filename: upload.filename,
    size: upload.size,
    url: upload.url,
    ...(upload.content_type === undefined ? {} : { contentType: upload.content_type }),
    ...(upload.width === undefined ? {} : { width: upload.width }),
    ...(upload.height === undefined ? {} : { height: upload.height }),
  };
}

export interface CdnRequest {
  method: string;
  path: string;
  status: number;
}

interface CdnFile {
  channelId: string;
  id: string;
  filename: string;
  bytes: Buffer;
  contentType?: string;
}

/** Width and height of a PNG (IHDR) or GIF: images carry them in the Attachment Object, other files do not. */
function imageSize(bytes: Buffer): { width: number; height: number } | undefined {
  const png = bytes.length >= 24 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  if (png) return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
  const gif = bytes.length >= 10 && bytes.subarray(0, 3).toString('latin1') === 'GIF';
  if (gif) return { width: bytes.readUInt16LE(6), height: bytes.readUInt16LE(8) };
  return undefined;
}

export class CdnFiles {
  /** `http://127.0.0.1:PORT`, set once the server listens. */
  origin = '';
  readonly requests: CdnRequest[] = [];
  readonly #files = new Map<string, CdnFile>();
  readonly #secret = randomBytes(32);

  /** Stores a file under a channel and returns its Attachment Object, with a signed URL. */
  put(file: CdnFile): FakeUpload {
    this.#files.set(file.id, file);
    return this.attachment(file.channelId, file);
  }

  attachment(channelId: string, file: { id: string; filename: string; size?: number; bytes?: Buffer; contentType?: string }): FakeUpload {
    const stored = this.#files.get(file.id);
    const bytes = file.bytes ?? stored?.bytes;
    const size = bytes === undefined ? undefined : imageSize(bytes);
    const path = `/attachments/${channelId}/${file.id}/${encodeURIComponent(file.filename)}`;
    return {
      id: file.id,
      filename: file.filename,
      size: file.size ?? bytes?.length ?? 0,
      url: this.#sign(path),
      // media.discordapp.net in Discord; the fake serves both from one origin.
      proxy_url: this.#sign(path),
      ...(file.contentType === undefined ? {} : { content_type: file.contentType }),
      ...(size === undefined ? {} : size),
    };
  }

  /** The bytes behind a URL the fake handed out (signature not checked), for test assertions. */
  bytesAt(url: string): Buffer | undefined {
    const id = new URL(url).pathname.split('/')[3];
    return id === undefined ? undefined : this.#files.get(id)?.bytes;
  }

  #signature(path: string, ex: string, is: string): string {
    return createHmac('sha256', this.#secret).update(`${path}\n${ex}\n${is}`).digest('hex');
  }

  #sign(path: string): string {
    const now = Math.floor(Date.now() / 1000);
    const is = now.toString(16);
    const ex = (now + URL_LIFETIME_S).toString(16);
    return `${this.origin}${path}?ex=${ex}&is=${is}&hm=${this.#signature(path, ex, is)}`;
  }

  /** A GET: 200 with the bytes for a valid signed URL of a known file, else 404. */
  serve(method: string, rawUrl: string): { status: number; body: Buffer | string; contentType: string } {
    const url = new URL(rawUrl, 'http://cdn.invalid');
    const gone = { status: 404, body: 'This content is no longer available.', contentType: 'text/plain' };
    const match = /^\/attachments\/(\d+)\/(\d+)\/([^/]+)$/.exec(url.pathname);
    if ((method !== 'GET' && method !== 'HEAD') || match === null) return { status: 404, body: 'Not Found', contentType: 'text/plain' };
    const [, channelId, id, encodedName] = match;
    const file = id === undefined ? undefined : this.#files.get(id);
    if (file === undefined || file.channelId !== channelId || encodeURIComponent(file.filename) !== encodedName) return gone;
    const ex = url.searchParams.get('ex') ?? '';
    const is = url.searchParams.get('is') ?? '';
    const hm = Buffer.from(url.searchParams.get('hm') ?? '', 'hex');
    const expected = Buffer.from(this.#signature(url.pathname, ex, is), 'hex');
    const signed = hm.length === expected.length && timingSafeEqual(hm, expected);
    const expired = !/^[0-9a-f]+$/.test(ex) || Number.parseInt(ex, 16) * 1000 < Date.now();
    if (!signed || expired) return gone;
    return { status: 200, body: file.bytes, contentType: file.contentType ?? 'application/octet-stream' };
  }
}

/** Serves `files` on a new origin on 127.0.0.1 and sets `files.origin`. */
export async function startCdn(files: CdnFiles): Promise<{ server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const reply = files.serve(method, req.url ?? '/');
    files.requests.push({ method, path: (req.url ?? '/').split('?')[0] ?? '/', status: reply.status });
    const body = typeof reply.body === 'string' ? Buffer.from(reply.body) : reply.body;
    res.writeHead(reply.status, { 'content-type': reply.contentType, 'content-length': String(body.length) });
    res.end(method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  files.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
