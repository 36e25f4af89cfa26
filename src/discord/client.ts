import { Client, GatewayIntentBits, Partials } from 'discord.js';
import type { Config } from '../config.js';

/**
 * Least privilege: no privileged intent (no MessageContent, no member list). Mentions and DMs
 * still carry their text. Partials let reactions on messages from before a restart arrive.
 */
export const INTENTS = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildMessages,
  GatewayIntentBits.GuildMessageReactions,
  GatewayIntentBits.DirectMessages,
  GatewayIntentBits.DirectMessageReactions,
];

export function createClient(config: Config): Client {
  return new Client({
    intents: INTENTS,
    partials: [Partials.Message, Partials.Reaction, Partials.Channel, Partials.User],
    // discord.js paces every request, interaction replies included, by this global budget.
    rest: {
      globalRequestsPerSecond: config.discord.globalRequestsPerSecond,
      ...(config.discord.restUrl === undefined ? {} : { api: config.discord.restUrl }),
    },
    // Nothing Cairn posts pings anyone unless that message names who it means to ping: a model's
    // answer, a step summary or a lesson note may contain <@id> or @everyone, written by anyone.
    allowedMentions: { parse: [], repliedUser: false },
  });
}
