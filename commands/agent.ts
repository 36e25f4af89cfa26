import { InteractionContextType, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { AGENT_MODES } from '../src/agent/agent.js';
import type { AgentMode } from '../src/agent/events.js';
import type { BotApp } from '../src/discord/context.js';
import { attachmentRefs } from '../src/discord/files-in.js';
import { runFromSlash } from '../src/discord/slash-run.js';

/** Attachment options: Discord shows one file picker per option (Discord: 25 options a command). */
export const FILE_OPTIONS = ['file1', 'file2', 'file3'] as const;

const MODE_NAMES: Record<AgentMode, string> = {
  react: 'react — think, act, observe (default)',
  plan: 'plan — plan tasks, carry them out, replan on failure',
  reflexion: 'reflexion — attempt, check, reflect and retry',
};

export const data = new SlashCommandBuilder()
  .setName('agent')
  .setDescription('Give Cairn a goal: it works on it with tools and memory, then answers.')
  .setContexts(InteractionContextType.Guild, InteractionContextType.BotDM)
  .addStringOption((o) => o.setName('goal').setDescription('What should Cairn do or find out?').setRequired(true).setMaxLength(2_000))
  .addStringOption((o) =>
    o
      .setName('mode')
      .setDescription('How Cairn works on the goal')
      .addChoices(...AGENT_MODES.map((mode) => ({ name: MODE_NAMES[mode], value: mode }))),
  )
  .addBooleanOption((o) => o.setName('private').setDescription('Only you see the replies (no thread), and the run stays private'))
  .addAttachmentOption((o) => o.setName('file1').setDescription('A file for Cairn to work with: text, CSV, JSON, code, PDF, DOCX or an image'))
  .addAttachmentOption((o) => o.setName('file2').setDescription('Another file'))
  .addAttachmentOption((o) => o.setName('file3').setDescription('Another file'));

export async function execute(interaction: ChatInputCommandInteraction, app: BotApp): Promise<void> {
  // No mode chosen: the server's or channel's default mode (/config), else react.
  const mode = AGENT_MODES.find((m) => m === interaction.options.getString('mode'));
  await runFromSlash(interaction, app, {
    goal: interaction.options.getString('goal', true).trim(),
    ...(mode === undefined ? {} : { mode }),
    private: interaction.options.getBoolean('private') ?? false,
    attachments: attachmentRefs(FILE_OPTIONS.map((name) => interaction.options.getAttachment(name))),
  });
}
