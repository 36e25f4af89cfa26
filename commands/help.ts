import { MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import type { BotApp } from '../src/discord/context.js';

export const data = new SlashCommandBuilder().setName('help').setDescription('What Cairn can do and how to use it.');

/**
 * How a conversation goes on. Without the Message Content intent (CAIRN_MESSAGE_CONTENT=off, the
 * default) Discord sends Cairn a thread message only when it mentions Cairn, so the line says so.
 */
function continuing(messageContent: boolean): string {
  const inThread = messageContent ? 'or just keep talking in its thread' : 'or mention @Cairn in its thread';
  return `• Reply to one of Cairn's messages, ${inThread}, to continue the conversation: Cairn sees what was said before.`;
}

const helpText = (messageContent: boolean): string => `**Cairn** works on a goal with tools and memory, shows its steps, and learns from your 👍/👎.
• \`/agent goal:… [mode:react|plan|reflexion] [file1…file3]\` — start a run, with up to 3 files (text, CSV, PDF, DOCX, images). Steps show in a thread; the answer brings any files the agent made, 👍/👎 (👎 lets you say what went wrong) and 🔁 Retry (after a 👎, the retry applies the lesson). \`private:true\` keeps it between you and Cairn. \`plan\` plans tasks and replans on failure; \`reflexion\` checks its answer and retries.
• \`/schedule add cron:… goal:…\` — run a goal on a schedule and post the report in a channel (\`notify:on-change\` posts only when the finding changed); \`list|pause|resume|run|remove\`. Managing schedules needs Manage Server or an admin role.
• \`@Cairn …\` or a DM — a conversational answer from the same agent and memory; attach files to the message to hand them over.
• **Apps › Ask Cairn** on a message — Cairn explains or answers it (or does what you say), in a thread on it or only to you.
${continuing(messageContent)}
• \`/runs list|show|cancel\` — your recent runs, one run's steps, or stop one.
• \`/usage\` — your runs, tokens and cost today and this month, against your daily budget and the server's; admins also see the server's totals.
• \`/config show|set|reset\` — this server's settings (instructions, model, mode, max steps, disabled tools, approvals, budgets, mentions, threads): \`show\` lists each value and where it comes from (default → server → channel → thread); changing them needs Manage Server or an admin role.
• \`/memory search|lessons|forget|export|stats\` — what Cairn remembers about you and this channel, and the lessons it learned from 👎; forget any of it or export it.
Cairn remembers facts you tell it to keep, your runs and conversations. Your private memories are never shown to anyone else's runs.`;

export async function execute(interaction: ChatInputCommandInteraction, app: BotApp): Promise<void> {
  await interaction.reply({ content: helpText(app.app.config.discord.messageContent), flags: MessageFlags.Ephemeral });
}
