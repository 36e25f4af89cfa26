import type { ChatInputCommandInteraction, SharedSlashCommand } from 'discord.js';
import type { BotApp } from '../src/discord/context.js';

/** One slash command: its definition (registered with Discord) and its handler. */
export interface SlashCommand {
  data: SharedSlashCommand;
  execute(interaction: ChatInputCommandInteraction, app: BotApp): Promise<void>;
}
