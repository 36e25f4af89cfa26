/**
 * Small helpers for tests that drive a real discord.js Client against the fake: wait for the
 * next interaction of a kind, get a sendable channel, and capture a DiscordAPIError.
 */
import {
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Client,
  type Interaction,
  type ModalSubmitInteraction,
  type SendableChannels,
} from 'discord.js';

/** Least privilege, as Cairn asks: no MessageContent, no GuildMembers, no presences. */
export const INTENTS = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildMessages,
  GatewayIntentBits.GuildMessageReactions,
  GatewayIntentBits.DirectMessages,
];

export const isCommand = (i: Interaction): i is ChatInputCommandInteraction => i.isChatInputCommand();
export const isButton = (i: Interaction): i is ButtonInteraction => i.isButton();
export const isModal = (i: Interaction): i is ModalSubmitInteraction => i.isModalSubmit();

/** The next interaction the client emits that passes `guard` (register before triggering it). */
export function next<T extends Interaction>(client: Client, guard: (i: Interaction) => i is T): Promise<T> {
  return new Promise((resolve) => {
    const listener = (interaction: Interaction): void => {
      if (!guard(interaction)) return;
      client.off(Events.InteractionCreate, listener);
      resolve(interaction);
    };
    client.on(Events.InteractionCreate, listener);
  });
}

export async function sendable(client: Client, channelId: string): Promise<SendableChannels> {
  const channel = await client.channels.fetch(channelId);
  if (!channel?.isSendable()) throw new Error(`channel ${channelId} is not sendable`);
  return channel;
}

/** The DiscordAPIError `promise` rejects with; fails if it resolves or rejects otherwise. */
export async function apiError(promise: Promise<unknown>): Promise<DiscordAPIError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof DiscordAPIError)) throw new Error(`expected a DiscordAPIError, got ${String(error)}`);
  return error;
}
