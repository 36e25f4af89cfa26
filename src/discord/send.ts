import type { Channel, Client, MessageCreateOptions, SendableChannels } from 'discord.js';

/**
 * A channel by id, over REST. A worker (src/queue) has no gateway and so no cached servers:
 * discord.js drops a server channel whose server it has not cached unless `allowUnknownGuild`.
 */
export function fetchChannel(client: Client, channelId: string): Promise<Channel | null> {
  return client.channels.fetch(channelId, { allowUnknownGuild: true });
}

/** A channel by id that Cairn can post in; throws (to be logged by the caller) when it cannot be written to. */
export async function sendableChannel(client: Client, channelId: string): Promise<SendableChannels> {
  const channel = await fetchChannel(client, channelId);
  if (channel?.isSendable() !== true) throw new Error(`channel ${channelId} cannot be written to`);
  return channel;
}

/** Sends to a channel by id; throws (to be logged by the caller) when it cannot be written to. */
export async function sendToChannel(client: Client, channelId: string, message: string | MessageCreateOptions): Promise<void> {
  await (await sendableChannel(client, channelId)).send(message);
}
