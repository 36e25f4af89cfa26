import { Client, Events, GatewayIntentBits, Partials, Routes } from 'discord.js';
import { z } from 'zod';
import { InteractionExemptREST } from './rest-budget.js';
import type { Config } from '../config.js';

/**
 * Least privilege: no privileged intent (no MessageContent, no member list). Mentions, replies
 * that ping Cairn and DMs still carry their text. Partials let reactions on messages from before a
 * restart arrive.
 */
export const INTENTS = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildMessages,
  GatewayIntentBits.GuildMessageReactions,
  GatewayIntentBits.DirectMessages,
  GatewayIntentBits.DirectMessageReactions,
];

/**
 * The intents to ask for. The privileged Message Content intent only with CAIRN_MESSAGE_CONTENT=on
 * (Cairn then answers every message in its own threads): Discord refuses a connection asking for a
 * privileged intent the app is not approved for (close code 4014, Gateway > Privileged Intents).
 */
export function intentsFor(config: Pick<Config['discord'], 'messageContent'>): GatewayIntentBits[] {
  return config.messageContent ? [...INTENTS, GatewayIntentBits.MessageContent] : INTENTS;
}

export function createClient(config: Config): Client {
  const client = new Client({
    intents: intentsFor(config.discord),
    partials: [Partials.Message, Partials.Reaction, Partials.Channel, Partials.User],
    // Several gateway connections in this process, for bots in many servers (Discord requires
    // sharding from 2,500): events of a server arrive on its shard; DMs on shard 0.
    ...shardOptions(config.discord.shards),
    // discord.js paces every request, interaction replies included, by this global budget.
    rest: {
      globalRequestsPerSecond: config.discord.globalRequestsPerSecond,
      ...(config.discord.restUrl === undefined ? {} : { api: config.discord.restUrl }),
    },
    // Nothing Cairn posts pings anyone unless that message names who it means to ping: a model's
    // answer, a step summary or a lesson note may contain <@id> or @everyone, written by anyone.
    allowedMentions: { parse: [], repliedUser: false },
  });
  // Interaction replies, edits and follow-ups go around the global budget, as Discord counts them (rest-budget.ts).
  const rest = new InteractionExemptREST(client.options.rest ?? {});
  client.rest = rest;
  client.once(Events.ClientReady, (ready) => {
    rest.setApplicationId(ready.application.id);
  });
  return client;
}

/** A client with no gateway connection (a worker) learns its application's id over REST. */
export async function learnApplicationId(client: Client): Promise<void> {
  const application = z.object({ id: z.string() }).parse(await client.rest.get(Routes.currentApplication()));
  if (client.rest instanceof InteractionExemptREST) client.rest.setApplicationId(application.id);
}

function shardOptions(shards: 'auto' | number | null): { shards: 'auto' | number[]; shardCount?: number } | Record<string, never> {
  if (shards === null) return {};
  if (shards === 'auto') return { shards: 'auto' };
  return { shards: Array.from({ length: shards }, (_, id) => id), shardCount: shards };
}
