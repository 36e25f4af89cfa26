import { randomBytes } from 'node:crypto';
import { MessageFlags, type Interaction, type RepliableInteraction } from 'discord.js';
import type { MessageMenuCommand, SlashCommand } from '../../commands/types.js';
import { handleAskSubmit } from './ask.js';
import { handleRetry } from './retry.js';
import { createAutocomplete } from './autocomplete.js';
import { decodeAction } from './components.js';
import { callerOfInteraction, gate, type BotApp } from './context.js';
import { discordCode, explainDiscordError } from './errors.js';
import { handleButton, handleComment } from './feedback.js';

/** A brief private answer that works whether or not the interaction was already acknowledged. */
async function tell(interaction: RepliableInteraction, content: string): Promise<void> {
  const payload = { content, flags: MessageFlags.Ephemeral as const };
  if (interaction.deferred || interaction.replied) await interaction.followUp(payload);
  else await interaction.reply(payload);
}

/**
 * Routes slash commands by name and our buttons and modals by custom id, after the access policy
 * admitted the caller. Anything unknown or failing gets a short private answer with a reference
 * to quote; the details go to the log.
 */
export function createRouter(bot: BotApp, commands: readonly SlashCommand[], menus: readonly MessageMenuCommand[] = []): (interaction: Interaction) => Promise<void> {
  const byName = new Map(commands.map((c) => [c.data.name, c]));
  const menusByName = new Map(menus.map((c) => [c.data.name, c]));
  const complete = createAutocomplete(bot, commands);
  return async (interaction) => {
    // Suggestions while typing: not repliable, so they get their own gate (and an empty list when refused).
    if (interaction.isAutocomplete()) {
      await complete(interaction);
      return;
    }
    if (!interaction.isRepliable()) return;
    try {
      // One access policy for every command, button and modal: allow-lists, then a rate limit.
      const refusal = gate(bot, callerOfInteraction(interaction));
      if (refusal !== null) {
        await tell(interaction, refusal);
        return;
      }
      if (interaction.isChatInputCommand()) {
        const command = byName.get(interaction.commandName);
        if (command === undefined) await tell(interaction, `I do not know the command /${interaction.commandName}. Try /help.`);
        else await command.execute(interaction, bot);
      } else if (interaction.isMessageContextMenuCommand()) {
        const menu = menusByName.get(interaction.commandName);
        if (menu === undefined) await tell(interaction, `I do not know the command “${interaction.commandName}”.`);
        else await menu.execute(interaction, bot);
      } else if (interaction.isButton() || interaction.isModalSubmit()) {
        const action = decodeAction(interaction.customId);
        if (action === null) await tell(interaction, 'This button is not one of mine, or it is too old.');
        else if (action.kind === 'comment') {
          if (interaction.isModalSubmit()) await handleComment(interaction, action.runId, bot);
        } else if (action.kind === 'ask') {
          if (interaction.isModalSubmit()) await handleAskSubmit(interaction, action, bot);
        } else if (action.kind === 'retry') {
          if (interaction.isButton()) await handleRetry(interaction, action.runId, bot);
        } else if (action.kind === 'approve' || action.kind === 'deny') {
          if (interaction.isButton()) await bot.approvals.press(interaction, action.token, action.kind === 'approve');
        } else if (interaction.isButton()) await handleButton(interaction, action, bot);
      }
    } catch (error) {
      const reference = `err-${randomBytes(3).toString('hex')}`;
      bot.log.error({ err: error, reference, interaction: interaction.isCommand() ? interaction.commandName : interaction.type }, 'interaction failed');
      const detail = discordCode(error) === undefined ? 'Something went wrong on my side.' : explainDiscordError(error);
      await tell(interaction, `${detail} (reference \`${reference}\`)`).catch((secondary: unknown) => {
        bot.log.warn({ err: secondary, reference }, 'could not tell the user about a failure');
      });
    }
  };
}
