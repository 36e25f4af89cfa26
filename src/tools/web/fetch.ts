/**
 * The guarded HTTP client behind http_get and http_request. Every hop's host is checked against
 * the address policy (ssrf.ts) after resolution, and the socket is pinned to exactly the checked
 * addresses, so a DNS answer that changes between check and connect (rebinding) cannot slip in.
 * node:http/node:https ignore HTTP(S)_PROXY, which would otherwise bypass the checks.
 */
import { promises as dns, type LookupAddress } from 'node:dns';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { errnoCode } from '../builtin/files.js';
import { blockedReason, isAllowedHost, isLoopbackName, urlHost } from './ssrf.js';
import { errorMessage } from '../../text.js';

/**
 * Where names resolve and where sockets go. Production uses the system transport; tests swap
 * it in through code only (httpToolsWithTransport), never through tool arguments or config.
 */
export interface Transport {
  resolve(hostname: string): Promise<string[]>;
  /** Maps a checked address to the socket's destination; must return an IP literal. */
  dial(address: string, port: number): { host: string; port: number };
}

export const systemTransport: Transport = {
  async resolve(hostname) {
    const found = await dns.lookup(hostname, { all: true, verbatim: true });
    return found.map((entry) => entry.address);
  },
  dial: (address, port) => ({ host: address, port }),
};

export interface FetchLimits {
  timeoutMs: number;
  maxResponseBytes: number;
  maxRedirects: number;
  /** Normalised (see normaliseAllowedDomains); empty allows every public host. */
  allowedDomains: readonly string[];
}

export interface FetchRequest {
  method: string;
  url: URL;
  /** Lower-case names; Host and framing headers are set here, not by the caller. */
  headers: Record<string, string>;
  body?: Buffer;
  /** The tool's name, for refusal messages. */
  tool: string;
  /**
   * Whether a redirect may be followed to this host without asking (src/agent/exposure.ts): in a
   * run that read untrusted text, a named host's open redirect must not carry data elsewhere.
   * Absent: every public host may be followed to.
   */
  mayRedirectTo?: (host: string) => boolean;
}

export interface FetchResponse {
  status: number;
  statusText: string;
  url: URL;
  redirects: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body was longer than maxResponseBytes and was cut there. */
  truncated: boolean;
  /** A redirect that was not followed because its host needs the person's approval first. */
  heldRedirect?: URL;
}

/** A failure already phrased for the model; passed through unchanged. */
class FetchError extends Error {}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/**
 * Headers that may follow a redirect to another origin. Any other header the caller set may be a
 * credential by another name (X-Api-Key, Private-Token…), so it stays with the origin it was for.
 */
const CROSS_ORIGIN_HEADERS = new Set(['accept', 'accept-language', 'user-agent', 'content-type', 'cache-control', 'if-none-match', 'if-modified-since']);

/** A connect destination whose addresses have all passed the policy. */
interface Target {
  host: string;
  port: number;
  lookup?: LookupFunction;
}

/**
 * Why a hop is refused. `host` is the message's subject on the first hop ("10.0.0.1 is …");
 * redirect messages show the URL instead, so they drop it. `address` marks address-policy
 * refusals, which get the "only reaches public addresses" hint.
 */
interface Refusal {
  host?: string;
  reason: string;
  address: boolean;
}

function refusal(url: URL, limits: FetchLimits): Refusal | null {
  const host = urlHost(url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { reason: `${url.protocol} URLs are not supported (only http and https)`, address: false };
  }
  if (!isAllowedHost(host, limits.allowedDomains)) {
    return { reason: `${host} is not in the allowed domains (${limits.allowedDomains.join(', ')})`, address: false };
  }
  if (isIP(host) !== 0) {
    const reason = blockedReason(host);
    return reason === null ? null : { host: `${host} is`, reason, address: true };
  }
  if (isLoopbackName(host)) return { host: `${host} is`, reason: 'a loopback name', address: true };
  return null;
}

function refuse(url: URL, hop: number, tool: string, found: Refusal): FetchError {
  if (hop > 0) return new FetchError(`Refused: redirect to ${url.href} — ${found.reason}.`);
  const subject = found.host === undefined ? '' : `${found.host} `;
  const hint = found.address ? ` (${tool} only reaches public addresses)` : '';
  return new FetchError(`Refused: ${subject}${found.reason}${hint}.`);
}

/** Resolves (names only), checks every address, and pins the connection to them. */
async function target(url: URL, hop: number, request: FetchRequest, limits: FetchLimits, transport: Transport, signal: AbortSignal): Promise<Target> {
  const found = refusal(url, limits);
  if (found !== null) throw refuse(url, hop, request.tool, found);
  const host = urlHost(url);
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  if (isIP(host) !== 0) return checkedDial(transport, host, port);

  let addresses: string[];
  try {
    addresses = await abortable(transport.resolve(host), signal);
  } catch (err) {
    if (signal.aborted) throw err;
    const detail = errnoCode(err) ?? (err instanceof Error ? err.message : 'DNS lookup failed');
    throw new FetchError(`Could not resolve ${host} (${detail}); check the host name.`, { cause: err });
  }
  // One blocked address refuses the host: which one the socket would use is not ours to choose.
  for (const address of addresses) {
    const reason = blockedReason(address);
    if (reason !== null) throw refuse(url, hop, request.tool, { reason: `${host} resolves to ${address}, ${reason}`, address: true });
  }
  const dialed = addresses.map((address) => checkedDial(transport, address, port));
  const [first] = dialed;
  if (first === undefined) throw new FetchError(`Could not resolve ${host}: DNS returned no addresses.`);
  const pinned: LookupAddress[] = dialed
    .filter((entry) => entry.port === first.port)
    .map((entry) => ({ address: entry.host, family: isIP(entry.host) }));
  // Node calls this instead of DNS, so the socket can only reach the addresses checked above.
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if (options.all === true) callback(null, pinned);
    else callback(null, first.host, isIP(first.host));
  };
  return { host, port: first.port, lookup };
}

function checkedDial(transport: Transport, address: string, port: number): Target {
  const dialed = transport.dial(address, port);
  if (isIP(dialed.host) === 0) throw new FetchError(`transport.dial must return an IP address, got ${JSON.stringify(dialed.host)}`);
  return dialed;
}

function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      const reason: unknown = signal.reason;
      reject(reason instanceof Error ? reason : new Error('aborted'));
    };
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => {
      signal.removeEventListener('abort', onAbort);
    });
  });
}

function send(request: FetchRequest, to: Target, signal: AbortSignal): Promise<IncomingMessage> {
  const { url } = request;
  const client = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { ...request.headers, host: url.host };
  if (request.body !== undefined) headers['content-length'] = String(request.body.length);
  return new Promise((resolve, reject) => {
    const req = client.request(
      // agent: false, a fresh agent per request: no pooled socket outlives the check it passed.
      { method: request.method, host: to.host, port: to.port, path: `${url.pathname}${url.search}`, headers, agent: false, lookup: to.lookup, signal },
      resolve,
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

async function readBody(response: IncomingMessage, maxBytes: number): Promise<{ body: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    if (size + chunk.length > maxBytes) {
      chunks.push(chunk.subarray(0, maxBytes - size));
      // Leaving the loop destroys the response: the rest is never downloaded.
      return { body: Buffer.concat(chunks), truncated: true };
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return { body: Buffer.concat(chunks), truncated: false };
}

/** The request for the next hop, following what browsers do with methods and credentials. */
function nextHop(previous: FetchRequest, location: URL, status: number): FetchRequest {
  let { method, body } = previous;
  const dropped = new Set<string>();
  if ((status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
    method = 'GET';
    body = undefined;
    dropped.add('content-type');
  }
  const crossOrigin = location.origin !== previous.url.origin;
  const headers = Object.fromEntries(Object.entries(previous.headers).filter(([name]) => !dropped.has(name) && (!crossOrigin || CROSS_ORIGIN_HEADERS.has(name))));
  // Credentials in a Location are never sent; dropping them keeps them out of the output too.
  location.username = '';
  location.password = '';
  location.hash = '';
  return { ...previous, method, url: location, headers, body };
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

function describeFailure(err: unknown, url: URL): string {
  const code = errnoCode(err) ?? '';
  const message = errorMessage(err);
  if (err instanceof FetchError) return message;
  if (code === 'ECONNREFUSED') return `Connection refused by ${url.host}.`;
  if (code === 'ECONNRESET' || code === 'EPIPE') return `The connection to ${url.host} was reset before a complete response.`;
  if (code.startsWith('HPE_')) return `${url.host} sent an invalid HTTP response (${code}).`;
  if (code.includes('CERT') || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL')) return `TLS error from ${url.host}: ${message} (${code}).`;
  return `Request to ${url.host} failed: ${message}${code === '' ? '' : ` (${code})`}.`;
}

/** Fetches with every hop checked; throws an Error whose message the model can act on. */
export async function guardedFetch(request: FetchRequest, limits: FetchLimits, transport: Transport, signal: AbortSignal): Promise<FetchResponse> {
  const timeout = AbortSignal.timeout(limits.timeoutMs);
  const combined = AbortSignal.any([signal, timeout]);
  let current = request;
  try {
    for (let hop = 0; ; hop++) {
      const to = await target(current.url, hop, current, limits, transport, combined);
      const response = await send(current, to, combined);
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (REDIRECTS.has(status) && location !== undefined) {
        response.destroy();
        const next = URL.canParse(location, current.url.href) ? new URL(location, current.url) : undefined;
        if (next === undefined) throw new FetchError(`Refused: redirect to an invalid URL (${location.slice(0, 200)}).`);
        if (hop >= limits.maxRedirects) throw new FetchError(`Stopped after ${limits.maxRedirects} redirects; the last pointed to ${next.href}.`);
        const hold = current.mayRedirectTo !== undefined && next.hostname !== current.url.hostname && !current.mayRedirectTo(next.hostname.replace(/\.$/, ''));
        if (hold) return { status, statusText: response.statusMessage ?? '', url: current.url, redirects: hop, headers: response.headers, body: Buffer.alloc(0), truncated: false, heldRedirect: nextHop(current, next, status).url };
        current = nextHop(current, next, status);
        continue;
      }
      const { body, truncated } = await readBody(response, limits.maxResponseBytes);
      const statusText = response.statusMessage ?? '';
      return { status, statusText, url: current.url, redirects: hop, headers: response.headers, body, truncated };
    }
  } catch (err) {
    if (signal.aborted) throw err;
    if (timeout.aborted) throw new Error(`Timed out after ${seconds(limits.timeoutMs)} waiting for ${current.url.host}.`, { cause: err });
    throw new Error(describeFailure(err, current.url), { cause: err });
  }
}

