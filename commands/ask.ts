/**
 * "Ask Cairn" (Apps › Ask Cairn on any message): asks what to do with the message, then runs on
 * it. Discord resolves the target message in the interaction itself, so no privileged intent is
 * needed to read it (src/discord/ask.ts).
 */
import { ApplicationCommandType, ContextMenuCommandBuilder, InteractionContextType, type MessageContextMenuCommandInteraction } from 'discord.js';
import { openAskModal } from '../src/discord/ask.js';
import type { BotApp } from '../src/discord/context.js';

export const data = new ContextMenuCommandBuilder()
  .setName('Ask Cairn')
  .setType(ApplicationCommandType.Message)
  .setContexts(InteractionContextType.Guild, InteractionContextType.BotDM);

export async function execute(interaction: MessageContextMenuCommandInteraction, bot: BotApp): Promise<void> {
  await openAskModal(interaction, bot);
}
