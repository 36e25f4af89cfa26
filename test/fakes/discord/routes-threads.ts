/**
 * Thread creation, from a message (the thread then shares the message's id, as on Discord) or
 * standalone. Threads become channels (type 11/12) that messages can be posted into.
 */
import { GatewayIntentBits } from 'discord.js';
import { z } from 'zod';
import type { Ctx } from './context.js';
import { DiscordError } from './errors.js';
import type { ParsedRequest, Reply, Route } from './http.js';
import { channelPayload } from './payloads.js';
import { Permission } from './permissions.js';
import { botChannel, channelMessage } from './routes-channels.js';
import { parseOrInvalidForm } from './rules.js';
import type { StoredChannel } from './world.js';

const ThreadBody = z.looseObject({
  name: z.string().min(1).max(100),
  auto_archive_duration: z.union([z.literal(60), z.literal(1440), z.literal(4320), z.literal(10080)]).optional(),
  rate_limit_per_user: z.number().int().min(0).max(21600).nullish(),
  // Discord's API default for standalone threads is private (12).
  type: z.union([z.literal(11), z.literal(12)]).optional(),
  invitable: z.boolean().optional(),
});

type Thread = Extract<StoredChannel, { kind: 'thread' }>;

function openThread(ctx: Ctx, parentId: string, body: unknown, fromMessageId?: string): Reply {
  const parent = botChannel(ctx, parentId);
  if (parent.kind !== 'text') throw new DiscordError(400, 50024, 'Cannot execute action on this channel type');
  const data = parseOrInvalidForm(ThreadBody, body);
  const type = fromMessageId === undefined ? (data.type ?? 12) : 11;
  botChannel(ctx, parentId, type === 12 ? Permission.CreatePrivateThreads : Permission.CreatePublicThreads);
  const starter = fromMessageId === undefined ? undefined : channelMessage(ctx, parentId, fromMessageId);
  if (starter?.threadId !== undefined) {
    throw new DiscordError(400, 160004, 'A thread has already been created for this message');
  }
  const thread: Thread = {
    kind: 'thread',
    id: starter?.id ?? ctx.world.ids.next(),
    parentId,
    name: data.name,
    type,
    ownerId: ctx.world.bot.id,
    ...(starter ? { starterMessageId: starter.id } : {}),
    createdAt: Date.now(),
    autoArchiveMinutes: data.auto_archive_duration ?? 1440,
  };
  ctx.world.channels.set(thread.id, thread);
  if (starter) starter.threadId = thread.id;
  const joined = { id: thread.id, user_id: ctx.world.bot.id, join_timestamp: new Date().toISOString(), flags: 1 };
  ctx.gateway.broadcast('THREAD_CREATE', (intents) =>
    (intents & GatewayIntentBits.Guilds) === 0
      ? undefined
      : { ...channelPayload(ctx.world, thread), newly_created: true, member: joined },
  );
  return { status: 201, body: { ...channelPayload(ctx.world, thread), member: joined } };
}

export function threadRoutes(ctx: Ctx): Route[] {
  return [
    {
      method: 'POST',
      pattern: '/channels/:channel/messages/:message/threads',
      auth: 'bot',
      handler: (req: ParsedRequest, p) => openThread(ctx, p('channel'), req.body, p('message')),
    },
    {
      method: 'POST',
      pattern: '/channels/:channel/threads',
      auth: 'bot',
      handler: (req: ParsedRequest, p) => openThread(ctx, p('channel'), req.body),
    },
  ];
}
