/**
 * The public face of the fake Discord: what tests configure, drive and inspect. Everything here
 * is plain data (snapshots), so a test can hold on to a value without seeing later mutations.
 */
import type { CdnRequest, FakeUpload } from './cdn.js';

export type { CdnRequest, FakeUpload } from './cdn.js';


export interface FakeDiscordOptions {
  /** How long an interaction may wait for its first acknowledgement (Discord: 3000 ms). */
  ackDeadlineMs?: number;
  /** How long an interaction token is valid for follow-ups/edits (Discord: 15 min); tests shorten it. */
  interactionTokenTtlMs?: number;
  /**
   * Privileged intents the application is approved for in the developer portal (Discord: none by
   * default). IDENTIFY asking for one that is not listed is closed with 4014, as Discord does.
   */
  privilegedIntents?: ('GuildMembers' | 'GuildPresences' | 'MessageContent')[];
  /** The shard count GET /gateway/bot recommends (Discord: by the bot's guild count; default 1). */
  recommendedShards?: number;
}

export interface FakeUser {
  id: string;
  username: string;
  globalName: string;
}

export interface FakeAttachment {
  id: string;
  filename: string;
  size: number;
  contentType?: string;
  /** The bytes uploaded (a test reads an exported file from here). */
  data?: Buffer;
  /** The signed CDN URL Discord gives for it (a crafted user attachment may carry any URL). */
  url?: string;
  /** Images only (Attachment Object). */
  width?: number;
  height?: number;
}

export interface FakeMessage {
  id: string;
  channelId: string;
  /** Present for guild channels and threads, absent in DMs. */
  guildId?: string;
  authorId: string;
  content: string;
  /** Raw embed JSON as the bot sent it. */
  embeds: unknown[];
  /** Raw component JSON as the bot sent it. */
  components: unknown[];
  attachments: FakeAttachment[];
  /** Message flags bitfield (64 ephemeral, 128 loading, 32768 components v2 …). */
  flags: number;
  /** Emoji the bot itself has reacted with, in the order it added them. */
  reactions: string[];
  /** The interaction this message answers (reply, deferred reply or follow-up), if any. */
  interactionId?: string;
  /** For a reply (type 19): the id of the message it replies to. */
  replyTo?: string;
  createdAt: number;
  editedAt?: number;
  deleted?: boolean;
}

export interface FakeThread {
  id: string;
  parentId: string;
  name: string;
  /** 11 public, 12 private. */
  type: number;
  ownerId: string;
  /** Set when the thread was started from a message (its id then equals the message id). */
  starterMessageId?: string;
  createdAt: number;
}

export interface RecordedRequest {
  method: string;
  /** Decoded path after `/api/v10`, e.g. `/webhooks/1/tok/messages/@original`. */
  path: string;
  query: Record<string, string>;
  /** Header names lower-case, as node:http delivers them. */
  headers: Record<string, string>;
  /** Parsed JSON body, the parsed `payload_json` of a multipart body, or undefined. */
  body: unknown;
  /** Files of a multipart body (field name, file name, size). */
  files: { field: string; filename: string; size: number }[];
  /** The status the fake answered with (0 while the request is still being handled). */
  status: number;
  at: number;
}

export interface IdentifyRecord {
  intents: number;
  tokenValid: boolean;
  properties: Record<string, unknown>;
  compress: boolean;
  shard?: [number, number];
  presence?: unknown;
  largeThreshold?: number;
  /** The `compress` query parameter of the connection (`zlib-stream`), if any. */
  transportCompression?: string;
  at: number;
}

export interface InteractionCallbackRecord {
  type: number;
  at: number;
  data?: unknown;
}

export interface FakeInteraction {
  id: string;
  token: string;
  /** First callback (type 4/5/6/7/9); rejects if the deadline passes unacknowledged. */
  acknowledged(): Promise<InteractionCallbackRecord>;
  /** Accepted callbacks (refused ones are only in `requests`). */
  callbacks: InteractionCallbackRecord[];
  /** The @original response message (after defer + editReply, etc.). */
  original(): FakeMessage | undefined;
  followUps(): FakeMessage[];
  /** The modal the bot opened (type 9), if any. */
  modal(): unknown;
  /** Whether the reply was flagged ephemeral (flags & 64) at reply or defer time. */
  ephemeral(): boolean;
}

/** Slash option values; plain JS values are typed from the registered command or inferred. */
export type SlashOptionValue = string | number | boolean | { channel: string } | { user: string } | { attachment: FakeUpload };

export interface SlashOptions {
  user: FakeUser;
  channelId: string;
  name: string;
  /** `sub` or `group sub`. */
  subcommand?: string;
  options?: Record<string, SlashOptionValue>;
  /** Run the command in the user's DM with the bot (channelId is then ignored). */
  dm?: boolean;
}

export type FailNextError = { status: 429; retryAfterS: number } | { status: number; code: number; message: string };

export interface FakeDiscord {
  /** `http://127.0.0.1:PORT/api` — also what DISCORD_REST_URL is set to. */
  restApi: string;
  /** The bot token the fake accepts (anything else: 401 on REST, close 4004 on gateway). */
  token: string;
  applicationId: string;
  botUserId: string;
  /** The main guild, "Cairn Test Server" (the same as `guilds.main`). */
  guildId: string;
  /**
   * The two guilds the bot is in: `main` ("Cairn Test Server": general, noThreads, readOnly) and
   * `other` ("Other Server": otherGeneral). READY lists both; a GUILD_CREATE follows for each.
   */
  guilds: { main: string; other: string };
  /**
   * general, noThreads, readOnly are in the main guild (noThreads: the bot lacks
   * CREATE_PUBLIC_THREADS; readOnly: the bot lacks SEND_MESSAGES); otherGeneral is in the other.
   */
  channels: { general: string; noThreads: string; readOnly: string; otherGeneral: string };
  /**
   * alice, bob, carol: members of the main guild only; carol has `roles.admin` (Manage Guild).
   * mallory: admin of the other guild (`roles.otherAdmin`), a plain member (`roles.member`) of the main one.
   */
  users: { alice: FakeUser; bob: FakeUser; carol: FakeUser; mallory: FakeUser };
  /** admin, member: roles of the main guild; otherAdmin: the other guild's admin role. */
  roles: { admin: string; member: string; otherAdmin: string };
  /** The last IDENTIFY (intents bitfield etc.). */
  identify(): IdentifyRecord | undefined;
  /** Every IDENTIFY so far (one per shard and per reconnect), oldest first. */
  identifies(): IdentifyRecord[];
  /** Resolves when a gateway session is open and has been sent READY (+ GUILD_CREATE). */
  ready(): Promise<void>;

  /** Every REST request, in arrival order, including refused and unknown ones. */
  requests: RecordedRequest[];
  /** Current messages of a channel or thread, oldest first; ephemeral and deleted ones excluded. */
  channelMessages(channelId: string): FakeMessage[];
  /** Any message by id, including ephemeral and deleted ones. */
  message(id: string): FakeMessage | undefined;
  threads(): FakeThread[];
  /** Bodies of the last PUT .../commands (global, or for that guild: either of `guilds`). */
  registeredCommands(scope?: { guildId?: string }): unknown[];

  /**
   * A slash command in a channel of either guild (or the user's DM), with that guild's context:
   * guild_id, the user's member and permissions there, app_permissions, guild_locale. Throws when
   * Discord would not offer it: the user cannot see the channel, or the command is registered
   * neither globally nor in that guild (when any command is registered at all).
   */
  slash(opts: SlashOptions): FakeInteraction;
  /**
   * A click on a button that is on the message (in a channel the user can see; an ephemeral
   * message only by the user it was for). No forged clicks: Discord validates the custom_id.
   */
  clickButton(opts: { user: FakeUser; message: FakeMessage; customId: string }): FakeInteraction;
  /**
   * Apps › <name> on a message: a message context-menu command registered as type 3, with the
   * message resolved in the interaction (content included, whatever the bot's intents).
   */
  messageCommand(opts: { user: FakeUser; message: FakeMessage; name: string }): FakeInteraction;
  /**
   * Submits a modal the bot showed this user in this channel (its layout is mirrored). With
   * `forge: true` it simulates a MODIFIED CLIENT: any custom_id, no modal needed, each field sent
   * as a text input in its own action row.
   */
  submitModal(opts: {
    user: FakeUser;
    channelId: string;
    customId: string;
    fields: Record<string, string>;
    message?: FakeMessage;
    /** Simulate a modified client: submit a modal the bot never showed this user. */
    forge?: boolean;
  }): FakeInteraction;
  /**
   * MESSAGE_CREATE; without mentionBot the bot gets empty content (no MessageContent intent).
   * `replyTo` makes it a reply (type 19, with message_reference and referenced_message) to a
   * message of the same channel, pinging its author unless `ping: false`: a reply that pings the
   * bot mentions it, so its content arrives without the intent.
   */
  postMessage(opts: { user: FakeUser; channelId: string; content: string; mentionBot?: boolean; replyTo?: string; ping?: boolean; attachments?: FakeUpload[] }): FakeMessage;
  /** A DM to the bot (creates the DM channel; Discord sends no CHANNEL_CREATE for it). */
  dm(opts: { user: FakeUser; content: string; attachments?: FakeUpload[] }): FakeMessage;
  /**
   * A file a user uploads (to attach to a message, or to an `/agent` attachment option): stored
   * on the fake CDN under `channelId` (default: the main guild's general channel), returned as the
   * Attachment Object Discord would send. A test may alter its `url` to craft a hostile one.
   */
  upload(name: string, bytes: Buffer, contentType?: string, channelId?: string): FakeUpload;
  /** The fake CDN: its origin (the bot's DISCORD_CDN_URL), the requests it got, and the bytes behind a URL it gave. */
  cdn: { origin: string; requests: CdnRequest[]; bytesAt(url: string): Buffer | undefined };
  /** MESSAGE_REACTION_ADD with ids only, so the bot needs partials for uncached messages. */
  react(opts: { user: FakeUser; message: FakeMessage; emoji: string }): void;
  /**
   * An admin changes a member's roles in the Discord client (Modify Guild Member). The fake sends
   * no GUILD_MEMBER_UPDATE: Cairn does not ask for the privileged GuildMembers intent, so it sees
   * the change only by fetching the member over REST (Get Guild Member).
   */
  setMemberRoles(guildId: string, userId: string, roleIds: string[]): void;
  /** A member leaves the server (Cairn hears nothing: GUILD_MEMBER_REMOVE needs the GuildMembers intent); Get Guild Member then answers 10007 Unknown Member. */
  removeMember(guildId: string, userId: string): void;

  /** The next `times` requests matching method + decoded path fail with `error`. */
  failNext(match: { method: string; path: RegExp }, error: FailNextError, times?: number): void;
  /** The next request matching method, path and (if given) its JSON body's text gets no answer, as one in flight when its sender died. */
  stallNext(match: { method: string; path: RegExp; body?: RegExp }): void;
  /** Polls `probe` until it returns something truthy (default 10 s: a loaded CI machine is slow). */
  waitFor<T>(probe: () => T | undefined | false | null, timeoutMs?: number): Promise<T>;
  /** Closes gateway sockets and the server (destroy the client first). */
  close(): Promise<void>;
}
