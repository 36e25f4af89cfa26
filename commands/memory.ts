import { AttachmentBuilder, MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { callerOfInteraction, type BotApp } from '../src/discord/context.js';
import { clip, oneLine } from '../src/text.js';
import { collectWithin } from '../src/memory/export.js';
import { sqlList, sqlString } from '../src/memory/schema.js';
import { SemanticMemory } from '../src/memory/semantic.js';
import { MEMORY_KINDS, readableScopes } from '../src/memory/types.js';

export const data = new SlashCommandBuilder()
  .setName('memory')
  .setDescription('What Cairn remembers about you and this channel.')
  .addSubcommand((s) =>
    s
      .setName('search')
      .setDescription('Search what Cairn would recall here')
      .addStringOption((o) => o.setName('query').setDescription('What to look for').setRequired(true).setMaxLength(500)),
  )
  .addSubcommand((s) =>
    s
      .setName('forget')
      .setDescription('Delete one memory')
      .addStringOption((o) => o.setName('id').setDescription('Memory id (from /memory search)').setRequired(true).setMaxLength(60)),
  )
  .addSubcommand((s) => s.setName('lessons').setDescription('Lessons Cairn learned from feedback that apply here'))
  .addSubcommand((s) => s.setName('export').setDescription('Everything Cairn keeps about you, as a JSON file'))
  .addSubcommand((s) => s.setName('stats').setDescription('How much Cairn remembers about you'));

/** Discord's attachment limit for bots is larger, but an export this big belongs in the CLI. */
const MAX_EXPORT_BYTES = 8 * 1024 * 1024;

export async function execute(interaction: ChatInputCommandInteraction, app: BotApp): Promise<void> {
  const reply = (content: string) => interaction.reply({ content, flags: MessageFlags.Ephemeral });
  const { memory } = app.app;
  const userId = interaction.user.id;
  const scope = { userId, channelId: interaction.channelId, ...(interaction.guildId === null ? {} : { guildId: interaction.guildId }) };
  switch (interaction.options.getSubcommand()) {
    case 'search': {
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      const hits = await memory.semantic.recall({ query: interaction.options.getString('query', true), scopes: readableScopes(scope), limit: 8 });
      const lines = hits.map(({ memory: m }) => {
        const where = m.scopeKey.startsWith('user:') ? '🔒' : m.scopeKey.startsWith('channel:') ? '#' : '🏠';
        return `\`${m.id}\` ${where} ${m.kind} <t:${Math.floor(m.createdAt / 1000)}:d> — ${oneLine(m.text, 200)}`;
      });
      await interaction.editReply(lines.length === 0 ? 'Nothing matches.' : clip(lines.join('\n'), 2_000));
      return;
    }
    case 'lessons': {
      const lessons = await memory.semantic.list(`scope IN ${sqlList(readableScopes(scope))} AND kind = 'lesson'`, 15);
      const lines = lessons.map((m) => `\`${m.id}\` <t:${Math.floor(m.createdAt / 1000)}:d> — ${oneLine(m.text, 220)}`);
      await reply(lines.length === 0 ? 'No lessons yet. 👎 on an answer (with a comment) teaches Cairn one.' : clip(`${lines.join('\n')}\nRemove one with \`/memory forget id:…\`.`, 2_000));
      return;
    }
    case 'forget': {
      const id = interaction.options.getString('id', true).trim();
      const found = await memory.semantic.get(id);
      const visible = found !== undefined && readableScopes(scope).includes(found.scopeKey);
      const own = found !== undefined && (found.userId === userId || found.scopeKey === `user:${userId}`);
      if (!visible) {
        await reply(`There is no memory \`${id}\` visible to you here.`);
      } else if (!own && !app.access.isAdmin(callerOfInteraction(interaction))) {
        await reply('That memory was written by someone else; only they or a server admin can forget it.');
      } else {
        await memory.semantic.forget([id]);
        await reply(`Forgotten: \`${id}\`.`);
      }
      return;
    }
    case 'export': {
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      // Streamed: reading stops at the limit, so an oversized history is never loaded whole.
      const json = await collectWithin(memory.exportUserJson(userId), MAX_EXPORT_BYTES);
      if (json === null) {
        await interaction.editReply(`Your export is larger than ${MAX_EXPORT_BYTES / 1024 / 1024} MB, too large to attach here. Ask an admin to run \`npx cairn memory export --user ${userId}\`.`);
        return;
      }
      await interaction.editReply({ content: 'Everything Cairn keeps about you:', files: [new AttachmentBuilder(json, { name: `cairn-export-${userId}.json` })] });
      return;
    }
    default: {
      const mine = SemanticMemory.userFilter(userId);
      const counts = await Promise.all(MEMORY_KINDS.map(async (k) => `${k} ${await memory.semantic.count(`${mine} AND kind = ${sqlString(k)}`)}`));
      const blocks = (await memory.working.blocksFor(scope)).filter((b) => b.text !== '');
      const runs = await memory.episodes.count(`user_id = ${sqlString(userId)}`);
      await reply(`Memories by you or private to you: ${counts.join(', ')}.\nWorking notes here: ${blocks.map((b) => `${b.label} (${b.text.length}/${b.charLimit})`).join(', ') || 'none'}.\nRuns: ${runs}.`);
    }
  }
}
