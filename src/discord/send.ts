import type { Client, MessageCreateOptions } from 'discord.js';

/** Sends to a channel by id; throws (to be logged by the caller) when it cannot be written to. */
export async function sendToChannel(client: Client, channelId: string, message: string | MessageCreateOptions): Promise<void> {
  const channel = await client.channels.fetch(channelId);
  if (channel?.isSendable() !== true) throw new Error(`channel ${channelId} cannot be written to`);
  await channel.send(message);
}
