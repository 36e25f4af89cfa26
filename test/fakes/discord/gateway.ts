/**
 * The fake gateway: HELLO → IDENTIFY (token and privileged intents checked) → READY →
 * GUILD_CREATE, heartbeat ACKs, RESUME, and dispatches filtered by each session's intents.
 * Sharding as Discord documents it (discord-api-docs, Gateway > Sharding): IDENTIFY's
 * `shard: [id, count]`, an id not below the count closed with 4010 "Invalid shard"; a shard gets
 * the guilds with `(guild_id >> 22) % count == id`, their events, and DMs only on shard 0.
 * Speaks plain JSON, or zlib-stream when the client asks for it (discord.js does when zlib-sync
 * is installed).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { constants as zlibConstants, createDeflate, type Deflate } from 'node:zlib';
import { GatewayIntentBits, GatewayOpcodes } from 'discord.js';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import { guildCreatePayload } from './guild.js';
import { userPayload } from './payloads.js';
import type { IdentifyRecord } from './types.js';
import type { World } from './world.js';

const HEARTBEAT_INTERVAL_MS = 41_250;
export const PRIVILEGED_INTENTS = {
  GuildMembers: GatewayIntentBits.GuildMembers,
  GuildPresences: GatewayIntentBits.GuildPresences,
  MessageContent: GatewayIntentBits.MessageContent,
} as const;
/** Application flags that say a privileged intent is enabled (the "limited" variants). */
const INTENT_APP_FLAGS: Record<keyof typeof PRIVILEGED_INTENTS, number> = {
  GuildPresences: 1 << 13,
  GuildMembers: 1 << 15,
  MessageContent: 1 << 19,
};

/** The application's flags (READY and GET /applications/@me) for the privileged intents it was given. */
export function applicationFlags(privileged: readonly (keyof typeof PRIVILEGED_INTENTS)[]): number {
  return privileged.reduce((all, name) => all | INTENT_APP_FLAGS[name], 0);
}

const Frame = z.object({ op: z.number().int(), d: z.unknown() });
const Identify = z.looseObject({
  token: z.string(),
  intents: z.number().int().nonnegative(),
  properties: z.record(z.string(), z.unknown()),
  compress: z.boolean().optional(),
  large_threshold: z.number().optional(),
  shard: z.tuple([z.number(), z.number()]).optional(),
  presence: z.unknown().optional(),
});
/** Discord's routing: `shard_id = (guild_id >> 22) % num_shards`; no guild (DMs): shard 0. */
function onShard([id, count]: [number, number], guildId: string | undefined): boolean {
  if (guildId === undefined) return id === 0;
  return Number((BigInt(guildId) >> 22n) % BigInt(count)) === id;
}

function guildOf(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null || !('guild_id' in data)) return undefined;
  return typeof data.guild_id === 'string' ? data.guild_id : undefined;
}

const Resume = z.looseObject({ token: z.string(), session_id: z.string(), seq: z.number().nullable() });

interface Session {
  socket: WebSocket;
  /** [id, count]: [0, 1] unsharded. */
  shard: [number, number];
  sessionId?: string;
  intents: number;
  seq: number;
  ready: boolean;
  deflate?: Deflate;
  /** Sends are chained so compressed frames leave in order. */
  queue: Promise<void>;
}

export interface GatewayDeps {
  world: World;
  token: string;
  privileged: (keyof typeof PRIVILEGED_INTENTS)[];
  url: () => string;
}

export class Gateway {
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #sessions = new Set<Session>();
  /** session_id → intents and shard, so a RESUME gets what it identified with. */
  readonly #resumable = new Map<string, { intents: number; shard: [number, number] }>();
  #waiters: (() => void)[] = [];
  #lastIdentify: IdentifyRecord | undefined;
  readonly #identifies: IdentifyRecord[] = [];

  constructor(private readonly deps: GatewayDeps) {}

  lastIdentify(): IdentifyRecord | undefined {
    return this.#lastIdentify;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#open(ws, new URL(req.url ?? '/', 'http://localhost').searchParams);
    });
  }

  /**
   * Sends `event` to every ready session for which `build` (given its intents) returns data, on
   * the shard its guild is routed to (DMs and events without a guild: shard 0).
   */
  broadcast(event: string, build: (intents: number) => unknown): void {
    for (const session of this.#sessions) {
      if (!session.ready) continue;
      const data = build(session.intents);
      if (data !== undefined && onShard(session.shard, guildOf(data))) this.#dispatch(session, event, data);
    }
  }

  identifies(): IdentifyRecord[] {
    return [...this.#identifies];
  }

  ready(): Promise<void> {
    if ([...this.#sessions].some((s) => s.ready)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async close(): Promise<void> {
    for (const session of this.#sessions) {
      session.socket.terminate();
      session.deflate?.close();
    }
    this.#sessions.clear();
    await new Promise<void>((resolve) => {
      this.#wss.close(() => {
        resolve();
      });
    });
  }

  #open(socket: WebSocket, query: URLSearchParams): void {
    const session: Session = { socket, shard: [0, 1], intents: 0, seq: 0, ready: false, queue: Promise.resolve() };
    if (query.get('encoding') !== null && query.get('encoding') !== 'json') {
      socket.close(4002, 'Error while decoding payload.');
      return;
    }
    if (query.get('compress') === 'zlib-stream') session.deflate = createDeflate();
    this.#sessions.add(session);
    socket.on('close', () => {
      this.#sessions.delete(session);
      session.deflate?.close();
    });
    socket.on('message', (raw: Buffer) => {
      this.#receive(session, raw.toString('utf8'), query.get('compress') ?? undefined);
    });
    this.#send(session, { op: GatewayOpcodes.Hello, d: { heartbeat_interval: HEARTBEAT_INTERVAL_MS } });
  }

  #receive(session: Session, text: string, transportCompression: string | undefined): void {
    let frame: z.infer<typeof Frame>;
    try {
      frame = Frame.parse(JSON.parse(text));
    } catch {
      session.socket.close(4002, 'Error while decoding payload.');
      return;
    }
    const op = z.enum(GatewayOpcodes).safeParse(frame.op);
    if (!op.success) {
      session.socket.close(4001, 'Unknown opcode.');
      return;
    }
    switch (op.data) {
      case GatewayOpcodes.Heartbeat:
        this.#send(session, { op: GatewayOpcodes.HeartbeatAck });
        return;
      case GatewayOpcodes.Identify:
        this.#identify(session, frame.d, transportCompression);
        return;
      case GatewayOpcodes.Resume:
        this.#resume(session, frame.d);
        return;
      case GatewayOpcodes.PresenceUpdate:
      case GatewayOpcodes.VoiceStateUpdate:
      case GatewayOpcodes.RequestGuildMembers:
        if (!session.ready) session.socket.close(4003, 'Not authenticated.');
        return;
      default:
        session.socket.close(4001, 'Unknown opcode.');
    }
  }

  #tokenMatches(token: string): boolean {
    return token === this.deps.token || token === `Bot ${this.deps.token}`;
  }

  #identify(session: Session, data: unknown, transportCompression: string | undefined): void {
    const parsed = Identify.safeParse(data);
    if (!parsed.success) {
      session.socket.close(4002, 'Error while decoding payload.');
      return;
    }
    const d = parsed.data;
    const tokenValid = this.#tokenMatches(d.token);
    this.#lastIdentify = {
      intents: d.intents,
      tokenValid,
      properties: d.properties,
      compress: d.compress ?? false,
      ...(d.shard ? { shard: d.shard } : {}),
      ...(d.presence === undefined ? {} : { presence: d.presence }),
      ...(d.large_threshold === undefined ? {} : { largeThreshold: d.large_threshold }),
      ...(transportCompression === undefined ? {} : { transportCompression }),
      at: Date.now(),
    };
    this.#identifies.push(this.#lastIdentify);
    const shard = d.shard ?? [0, 1];
    if (shard[1] < 1 || shard[0] < 0 || shard[0] >= shard[1]) {
      session.socket.close(4010, 'Invalid shard.');
      return;
    }
    const refusal = this.#refusal(session, d.intents, tokenValid);
    if (refusal) {
      session.socket.close(refusal.code, refusal.reason);
      return;
    }
    const { world } = this.deps;
    session.sessionId = randomBytes(16).toString('hex');
    session.intents = d.intents;
    session.shard = shard;
    const guildIds = [...world.guilds.keys()].filter((id) => onShard(shard, id));
    this.#resumable.set(session.sessionId, { intents: d.intents, shard });
    const flags = applicationFlags(this.deps.privileged);
    this.#dispatch(session, 'READY', {
      v: 10,
      user: { ...userPayload(world.bot), verified: true, mfa_enabled: false, flags: 0 },
      user_settings: {},
      // Every guild starts out unavailable; a GUILD_CREATE per guild follows (Gateway Events > Ready).
      guilds: guildIds.map((id) => ({ id, unavailable: true })),
      session_id: session.sessionId,
      resume_gateway_url: this.deps.url(),
      shard,
      application: { id: world.applicationId, flags },
      private_channels: [],
      presences: [],
      relationships: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      auth: {},
    });
    // Without the Guilds intent Discord sends no GUILD_CREATE (and discord.js waits 15 s for it).
    if ((d.intents & GatewayIntentBits.Guilds) !== 0) {
      for (const guildId of guildIds) this.#dispatch(session, 'GUILD_CREATE', guildCreatePayload(world, guildId));
    }
    this.#markReady(session);
  }

  /** Why Discord would close the connection instead of answering this IDENTIFY, if it would. */
  #refusal(session: Session, intents: number, tokenValid: boolean): { code: number; reason: string } | undefined {
    if (session.sessionId !== undefined) return { code: 4005, reason: 'Already authenticated.' };
    if (!tokenValid) return { code: 4004, reason: 'Authentication failed.' };
    if (intents >= 1 << 26) return { code: 4013, reason: 'Invalid intent(s).' };
    const disallowed = Object.entries(PRIVILEGED_INTENTS).some(
      ([name, bit]) => (intents & bit) !== 0 && !this.deps.privileged.some((allowed) => allowed === name),
    );
    return disallowed ? { code: 4014, reason: 'Disallowed intent(s).' } : undefined;
  }

  #resume(session: Session, data: unknown): void {
    const parsed = Resume.safeParse(data);
    const identified = parsed.success ? this.#resumable.get(parsed.data.session_id) : undefined;
    if (!parsed.success || identified === undefined || !this.#tokenMatches(parsed.data.token)) {
      // Not resumable: the client waits 1–5 s, then identifies afresh.
      this.#send(session, { op: GatewayOpcodes.InvalidSession, d: false });
      return;
    }
    session.sessionId = parsed.data.session_id;
    session.intents = identified.intents;
    session.shard = identified.shard;
    session.seq = parsed.data.seq ?? 0;
    this.#dispatch(session, 'RESUMED', {});
    this.#markReady(session);
  }

  #markReady(session: Session): void {
    session.ready = true;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  #dispatch(session: Session, event: string, data: unknown): void {
    session.seq += 1;
    this.#send(session, { op: GatewayOpcodes.Dispatch, t: event, s: session.seq, d: data });
  }

  #send(session: Session, payload: unknown): void {
    const text = JSON.stringify(payload);
    const { deflate, socket } = session;
    if (!deflate) {
      socket.send(text);
      return;
    }
    // zlib-stream: one deflate context per connection, each payload ends with a sync flush.
    session.queue = session.queue.then(
      () =>
        new Promise<void>((resolve) => {
          const chunks: Buffer[] = [];
          const collect = (chunk: Buffer): void => {
            chunks.push(chunk);
          };
          deflate.on('data', collect);
          deflate.write(text);
          deflate.flush(zlibConstants.Z_SYNC_FLUSH, () => {
            deflate.off('data', collect);
            if (socket.readyState === socket.OPEN) socket.send(Buffer.concat(chunks));
            resolve();
          });
        }),
    );
  }
}
