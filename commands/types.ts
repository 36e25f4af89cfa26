import type { ChatInputCommandInteraction, ContextMenuCommandBuilder, MessageContextMenuCommandInteraction, SharedSlashCommand } from 'discord.js';
import type { BotApp } from '../src/discord/context.js';

/** One slash command: its definition (registered with Discord) and its handler. */
export interface SlashCommand {
  data: SharedSlashCommand;
  execute(interaction: ChatInputCommandInteraction, app: BotApp): Promise<void>;
}

/** One message context-menu command (Apps › …): its definition and its handler. */
export interface MessageMenuCommand {
  data: ContextMenuCommandBuilder;
  execute(interaction: MessageContextMenuCommandInteraction, app: BotApp): Promise<void>;
}
