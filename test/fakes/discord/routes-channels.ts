/**
 * Channel routes the bot calls with its token: channels, messages, reactions, typing and DMs,
 * each checking the bot's permissions where Discord does.
 */
import { z } from 'zod';
import type { Ctx } from './context.js';
import {
  DiscordError,
  invalidForm,
  missingAccess,
  missingPermissions,
  notAuthor,
  unknownChannel,
  unknownMessage,
  unknownUser,
} from './errors.js';
import type { ParsedRequest, Reply, Route } from './http.js';
import { channelPayload, messagePayload } from './payloads.js';
import { has, Permission } from './permissions.js';
import { checkMessage, editedFlags, FLAG_EPHEMERAL, parseMessageBody, parseOrInvalidForm, requestedFlags } from './rules.js';
import type { StoredChannel, StoredMessage } from './world.js';

/** The channel, if the bot can see it and holds every permission in `needed`. */
export function botChannel(ctx: Ctx, channelId: string, ...needed: bigint[]): StoredChannel {
  const channel = ctx.world.channel(channelId);
  if (!channel) throw unknownChannel();
  const permissions = ctx.world.permissionsIn(ctx.world.bot.id, channelId);
  if (!has(permissions, Permission.ViewChannel)) throw missingAccess();
  for (const bit of needed) if (!has(permissions, bit)) throw missingPermissions();
  return channel;
}

export function channelMessage(ctx: Ctx, channelId: string, messageId: string): StoredMessage {
  const message = ctx.world.messages.get(messageId);
  const hidden = message === undefined || message.deleted || (message.flags & FLAG_EPHEMERAL) !== 0;
  if (hidden || message.channelId !== channelId) throw unknownMessage();
  return message;
}

const sendPermission = (channel: StoredChannel): bigint =>
  channel.kind === 'thread' ? Permission.SendMessagesInThreads : Permission.SendMessages;

/** REST hides others' content unless the app is approved for MessageContent (as Discord does). */
function restMessage(ctx: Ctx, message: StoredMessage): Reply['body'] {
  const visible = (m: StoredMessage) => ctx.messageContentApproved || ctx.messages.visibleWithoutIntent(m);
  const referenced = message.reference === undefined ? undefined : ctx.world.messages.get(message.reference.messageId);
  return messagePayload(ctx.world, message, { redact: !visible(message), redactReferenced: referenced !== undefined && !visible(referenced) });
}

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  before: z.string().optional(),
  after: z.string().optional(),
});

function listMessages(ctx: Ctx, req: ParsedRequest, channelId: string): Reply {
  botChannel(ctx, channelId, Permission.ReadMessageHistory);
  const query = parseOrInvalidForm(ListQuery, Object.fromEntries(req.query));
  let list = ctx.world.messagesIn(channelId).filter((m) => !m.deleted && (m.flags & FLAG_EPHEMERAL) === 0);
  const { before, after } = query;
  if (before !== undefined) list = list.filter((m) => BigInt(m.id) < BigInt(before));
  if (after !== undefined) list = list.filter((m) => BigInt(m.id) > BigInt(after));
  // Newest first, like Discord; `after` keeps the oldest ones after the cursor.
  const page = after === undefined ? list.slice(-query.limit) : list.slice(0, query.limit);
  return { status: 200, body: page.reverse().map((m) => restMessage(ctx, m)) };
}

function mentionsIn(ctx: Ctx, content: string): string[] {
  return [...content.matchAll(/<@!?(\d{17,20})>/g)].flatMap((m) => (m[1] && ctx.world.users.has(m[1]) ? [m[1]] : []));
}

const ReferenceBody = z.looseObject({
  message_reference: z.looseObject({ message_id: z.string(), channel_id: z.string().optional(), fail_if_not_exists: z.boolean().optional() }).nullish(),
});

/**
 * The message a new message replies to. Replying to a message that is not in the channel fails
 * with 50035 (message_reference: Unknown message) unless `fail_if_not_exists` is false, in which
 * case it is sent as a plain message (Resources > Message > Message Reference Structure).
 */
function replyReference(ctx: Ctx, channelId: string, body: unknown): StoredMessage['reference'] {
  const wanted = ReferenceBody.parse(body ?? {}).message_reference;
  if (wanted === undefined || wanted === null) return undefined;
  const target = ctx.world.messages.get(wanted.message_id);
  const found = target !== undefined && !target.deleted && target.channelId === (wanted.channel_id ?? channelId) && target.channelId === channelId;
  if (!found) {
    if (wanted.fail_if_not_exists === false) return undefined;
    throw invalidForm([{ path: 'message_reference', code: 'MESSAGE_REFERENCE_UNKNOWN_MESSAGE', message: 'Unknown message' }]);
  }
  const channel = ctx.world.channel(channelId);
  const guildId = channel === undefined ? undefined : ctx.world.guildIdOf(channel);
  return { messageId: target.id, channelId, ...(guildId === undefined ? {} : { guildId }) };
}

/** "The past few minutes" of Create Message's enforce_nonce: Discord gives no figure; five is assumed. */
const NONCE_WINDOW_MS = 5 * 60_000;

function createMessage(ctx: Ctx, req: ParsedRequest, channelId: string): Reply {
  const channel = ctx.world.channel(channelId);
  const needed = channel ? [sendPermission(channel)] : [];
  if (req.files.length > 0) needed.push(Permission.AttachFiles);
  botChannel(ctx, channelId, ...needed);
  const body = parseMessageBody(req.body);
  // enforce_nonce: the same author's message with this nonce from the last few minutes comes back, and nothing is created.
  if (body.enforce_nonce === true && body.nonce !== undefined && body.nonce !== null) {
    const nonce = body.nonce;
    const earlier = ctx.world.messagesIn(channelId).find((m) => m.nonce === nonce && m.authorId === ctx.world.bot.id && m.createdAt > Date.now() - NONCE_WINDOW_MS);
    if (earlier !== undefined) return { status: 200, body: messagePayload(ctx.world, earlier) };
  }
  // Ephemeral is for interaction responses only; Discord ignores it on channel messages.
  const checked = checkMessage(body, req.files.length, requestedFlags(body) & ~FLAG_EPHEMERAL);
  const reference = replyReference(ctx, channelId, req.body);
  const message = ctx.messages.create({
    ...(body.nonce === undefined || body.nonce === null ? {} : { nonce: body.nonce }),
    ...checked,
    channelId,
    authorId: ctx.world.bot.id,
    files: req.files,
    mentionIds: mentionsIn(ctx, checked.content),
    type: reference === undefined ? 0 : 19,
    ...(reference === undefined ? {} : { reference }),
  });
  return { status: 200, body: messagePayload(ctx.world, message) };
}

function editMessage(ctx: Ctx, req: ParsedRequest, channelId: string, messageId: string): Reply {
  botChannel(ctx, channelId);
  const message = channelMessage(ctx, channelId, messageId);
  if (message.authorId !== ctx.world.bot.id) throw notAuthor();
  const body = parseMessageBody(req.body);
  const checked = checkMessage(body, req.files.length, editedFlags(message.flags, body), {
    ...message,
    attachments: message.attachments.length,
  });
  ctx.messages.edit(message, checked, req.files, body.attachments?.map((a) => String(a.id)));
  message.mentionIds = mentionsIn(ctx, message.content);
  return { status: 200, body: messagePayload(ctx.world, message) };
}

function deleteMessage(ctx: Ctx, channelId: string, messageId: string): Reply {
  botChannel(ctx, channelId);
  const message = channelMessage(ctx, channelId, messageId);
  if (message.authorId !== ctx.world.bot.id) botChannel(ctx, channelId, Permission.ManageMessages);
  ctx.messages.delete(message);
  return { status: 204 };
}

function react(ctx: Ctx, channelId: string, messageId: string, emoji: string, add: boolean): Reply {
  botChannel(ctx, channelId, Permission.ReadMessageHistory);
  const message = channelMessage(ctx, channelId, messageId);
  if (!add) {
    ctx.messages.removeReaction(message, ctx.world.bot.id, emoji);
    return { status: 204 };
  }
  // Adding a reaction nobody has used yet needs Add Reactions; joining one does not.
  if (!message.reactions.has(emoji)) botChannel(ctx, channelId, Permission.AddReactions);
  ctx.messages.addReaction(message, ctx.world.bot.id, emoji);
  return { status: 204 };
}

const OpenDm = z.looseObject({ recipient_id: z.string() });

function openDm(ctx: Ctx, req: ParsedRequest): Reply {
  const { recipient_id } = parseOrInvalidForm(OpenDm, req.body);
  if (recipient_id === ctx.world.bot.id) throw new DiscordError(400, 50007, 'Cannot send messages to this user');
  if (!ctx.world.users.has(recipient_id)) throw unknownUser();
  return { status: 200, body: channelPayload(ctx.world, ctx.world.dmChannelFor(recipient_id)) };
}

export function channelRoutes(ctx: Ctx): Route[] {
  const route = (method: string, pattern: string, handler: Route['handler']): Route => ({ method, pattern, auth: 'bot', handler });
  const messagePath = '/channels/:channel/messages/:message';
  return [
    route('GET', '/channels/:channel', (_req, p) => ({
      status: 200,
      body: channelPayload(ctx.world, botChannel(ctx, p('channel'))),
    })),
    route('GET', '/channels/:channel/messages', (req, p) => listMessages(ctx, req, p('channel'))),
    route('POST', '/channels/:channel/messages', (req, p) => createMessage(ctx, req, p('channel'))),
    route('GET', messagePath, (_req, p) => {
      botChannel(ctx, p('channel'), Permission.ReadMessageHistory);
      return { status: 200, body: restMessage(ctx, channelMessage(ctx, p('channel'), p('message'))) };
    }),
    route('PATCH', messagePath, (req, p) => editMessage(ctx, req, p('channel'), p('message'))),
    route('DELETE', messagePath, (_req, p) => deleteMessage(ctx, p('channel'), p('message'))),
    route('PUT', `${messagePath}/reactions/:emoji/@me`, (_req, p) =>
      react(ctx, p('channel'), p('message'), p('emoji'), true),
    ),
    route('DELETE', `${messagePath}/reactions/:emoji/@me`, (_req, p) =>
      react(ctx, p('channel'), p('message'), p('emoji'), false),
    ),
    route('POST', '/channels/:channel/typing', (_req, p) => {
      const channel = botChannel(ctx, p('channel'));
      botChannel(ctx, channel.id, sendPermission(channel));
      return { status: 204 };
    }),
    route('POST', '/users/@me/channels', (req) => openDm(ctx, req)),
  ];
}
