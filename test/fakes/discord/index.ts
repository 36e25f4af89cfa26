/**
 * A fake Discord on 127.0.0.1 that the real discord.js Client talks to, over REST and a
 * gateway WebSocket, enforcing the Discord rules a bot most often breaks:
 *
 *   const fake = await startFakeDiscord();
 *   const client = new Client({ intents, partials, rest: { api: fake.restApi } });
 *   await client.login(fake.token);
 *   await fake.ready();
 *   const interaction = fake.slash({ user: fake.users.alice, channelId: fake.channels.general, name: 'help' });
 *   // A second guild: mallory is admin of `guilds.other` and a plain member of the main guild.
 *   fake.slash({ user: fake.users.mallory, channelId: fake.channels.otherGeneral, name: 'help' });
 *   // Files: uploaded to the fake CDN (its own origin: the bot's DISCORD_CDN_URL), then attached.
 *   const csv = fake.upload('data.csv', Buffer.from('a,b\n'), 'text/csv');
 *   fake.slash({ user: fake.users.alice, channelId: fake.channels.general, name: 'agent', options: { goal: 'sum it', file1: { attachment: csv } } });
 *   fake.dm({ user: fake.users.bob, content: 'look', attachments: [csv] });
 *   await interaction.acknowledged();
 *   ...
 *   await client.destroy();
 *   await fake.close();
 */
import type { Ctx } from './context.js';
import { Driver } from './drive.js';
import { startCdn } from './cdn.js';
import { applicationFlags, Gateway } from './gateway.js';
import { startHttp } from './http.js';
import { Interactions } from './interactions.js';
import { Messages } from './messages.js';
import { appRoutes } from './routes-app.js';
import { channelRoutes } from './routes-channels.js';
import { interactionRoutes } from './routes-interactions.js';
import { threadRoutes } from './routes-threads.js';
import { botToken } from './snowflake.js';
import type { FakeDiscord, FakeDiscordOptions, FakeUser, RecordedRequest } from './types.js';
import { World, type StoredUser } from './world.js';

export type * from './types.js';
export type { AutocompleteChoice, AutocompleteOptions, FakeAutocomplete } from './autocomplete.js';

const fakeUser = (user: StoredUser): FakeUser => ({
  id: user.id,
  username: user.username,
  globalName: user.globalName ?? user.username,
});

export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const world = new World();
  const token = botToken(world.bot.id);
  const privileged = options.privilegedIntents ?? [];
  let port = 0;
  const gatewayUrl = (): string => `ws://127.0.0.1:${port}/gateway`;
  const gateway = new Gateway({ world, token, privileged, url: gatewayUrl });
  const messages = new Messages(world, gateway);
  const interactions = new Interactions(world, messages, {
    ackDeadlineMs: options.ackDeadlineMs ?? 3000,
    tokenTtlMs: options.interactionTokenTtlMs ?? 15 * 60_000,
  });
  const ctx: Ctx = {
    world,
    gateway,
    messages,
    interactions,
    messageContentApproved: privileged.includes('MessageContent'),
    applicationFlags: applicationFlags(privileged),
    gatewayUrl,
    recommendedShards: options.recommendedShards ?? 1,
  };
  const requests: RecordedRequest[] = [];
  const http = await startHttp({
    routes: [...appRoutes(ctx), ...channelRoutes(ctx), ...threadRoutes(ctx), ...interactionRoutes(ctx)],
    token,
    requests,
    onUpgrade: (req, socket, head) => {
      gateway.handleUpgrade(req, socket, head);
    },
  });
  port = http.port;
  const cdn = await startCdn(world.cdn);
  const driver = new Driver(world, gateway, messages, interactions);
  const { cast } = world;
  let closed = false;

  return {
    restApi: `http://127.0.0.1:${port}/api`,
    token,
    applicationId: world.applicationId,
    botUserId: world.bot.id,
    guildId: world.guildId,
    guilds: { main: world.guildId, other: cast.otherGuild },
    channels: { general: cast.general, noThreads: cast.noThreads, readOnly: cast.readOnly, otherGeneral: cast.otherGeneral },
    users: {
      alice: fakeUser(cast.alice),
      bob: fakeUser(cast.bob),
      carol: fakeUser(cast.carol),
      mallory: fakeUser(cast.mallory),
    },
    roles: { admin: cast.adminRole, member: cast.memberRole, otherAdmin: cast.otherAdminRole },
    identify: () => gateway.lastIdentify(),
    identifies: () => gateway.identifies(),
    ready: () => gateway.ready(),
    requests,
    channelMessages: (channelId) =>
      world
        .messagesIn(channelId)
        .filter((m) => !m.deleted && (m.flags & 64) === 0)
        .map((m) => messages.snapshot(m)),
    message: (id) => {
      const message = world.messages.get(id);
      return message ? messages.snapshot(message) : undefined;
    },
    threads: () =>
      world.threads().map((t) => ({
        id: t.id,
        parentId: t.parentId,
        name: t.name,
        type: t.type,
        ownerId: t.ownerId,
        ...(t.starterMessageId === undefined ? {} : { starterMessageId: t.starterMessageId }),
        createdAt: t.createdAt,
      })),
    registeredCommands: (scope) => structuredClone(world.commandBodies.get(scope?.guildId ?? '') ?? []),
    slash: (opts) => driver.slash(opts),
    autocomplete: (opts) => driver.autocomplete(opts),
    clickButton: (opts) => driver.clickButton(opts),
    messageCommand: (opts) => driver.messageCommand(opts),
    submitModal: (opts) => driver.submitModal(opts),
    postMessage: (opts) => driver.postMessage(opts),
    dm: (opts) => driver.dm(opts),
    upload: (name, bytes, contentType, channelId) =>
      world.cdn.put({ channelId: channelId ?? cast.general, id: world.ids.next(), filename: name, bytes, ...(contentType === undefined ? {} : { contentType }) }),
    cdn: {
      get origin() {
        return world.cdn.origin;
      },
      requests: world.cdn.requests,
      bytesAt: (url) => world.cdn.bytesAt(url),
    },
    react: (opts) => {
      driver.react(opts);
    },
    setMemberRoles: (guildId, userId, roleIds) => {
      const member = world.member(guildId, userId);
      if (member === undefined) throw new Error(`fake Discord: ${userId} is not a member of guild ${guildId}`);
      member.roleIds = [...roleIds];
    },
    removeMember: (guildId, userId) => {
      if (world.guild(guildId)?.members.delete(userId) !== true) throw new Error(`fake Discord: ${userId} is not a member of guild ${guildId}`);
    },
    failNext: (match, error, times = 1) => {
      http.failNext(match, error, times);
    },
    stallNext: (match) => {
      http.stallNext(match);
    },
    waitFor: <T>(probe: () => T | undefined | false | null, timeoutMs = 10_000): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        const started = Date.now();
        const poll = (): void => {
          let value: T | undefined | false | null;
          try {
            value = probe();
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
            return;
          }
          if (value) {
            resolve(value);
            return;
          }
          if (closed || Date.now() - started >= timeoutMs) {
            const source = probe.toString().replace(/\s+/g, ' ').slice(0, 200);
            const why = closed ? 'the fake was closed' : `timed out after ${timeoutMs} ms`;
            reject(new Error(`fake Discord: waitFor ${why} waiting for ${source}`));
            return;
          }
          setTimeout(poll, 10);
        };
        poll();
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      interactions.close();
      await gateway.close();
      await http.close();
      await cdn.close();
    },
  };
}
