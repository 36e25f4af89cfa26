import type { Message } from 'discord.js';
import { newRunId } from '../agent/agent.js';
import { answerMessages } from './answer.js';
import { callerOfMessage, gate, reserveRun, type BotApp } from './context.js';
import { explainDiscordError } from './errors.js';

const MAX_GOAL_CHARS = 4_000;

/**
 * `@Cairn …` in a channel or any DM: a conversational reply from the same agent and memory.
 * Without the MessageContent intent, Discord delivers text only for these two cases.
 */
export async function handleMessage(message: Message, bot: BotApp): Promise<void> {
  const me = bot.client.user;
  if (me === null || message.author.bot || message.webhookId !== null) return;
  const direct = message.channel.isDMBased();
  if (!direct && !message.mentions.users.has(me.id)) return;

  const caller = callerOfMessage(message);
  const refusal = gate(bot, caller);
  if (refusal !== null) {
    // Channel replies are public; a refusal goes to the user alone.
    await (direct ? message.reply(refusal) : message.author.send(refusal)).catch(() => undefined);
    return;
  }
  const goal = message.content.replaceAll(new RegExp(`<@!?${me.id}>`, 'g'), '').trim();
  if (goal === '') {
    await message.reply('Ask me something, or give me a goal — for example: “@Cairn summarise this week’s notes”. `/help` lists everything.');
    return;
  }
  const ticket = reserveRun(bot, caller);
  if (typeof ticket === 'string') {
    // Channel replies are public; a refusal goes to the user alone.
    await (direct ? message.reply(ticket) : message.author.send(ticket)).catch(() => undefined);
    return;
  }
  let cost: number | null = null;
  const runId = newRunId();
  const controller = new AbortController();
  // "Cairn is typing…" while it works (Discord shows it for ~10 s per call).
  const showTyping = () => {
    if (message.channel.isSendable()) message.channel.sendTyping().catch(() => undefined);
  };
  const typing = setInterval(showTyping, 8_000);
  typing.unref();
  try {
    showTyping();
    const done = (async () => {
      const result = await bot.app.agent.run({
        goal: goal.slice(0, MAX_GOAL_CHARS),
        runId,
        signal: controller.signal,
        scope: { userId: caller.userId, userName: message.author.username, channelId: message.channelId, ...(message.guildId === null ? {} : { guildId: message.guildId }) },
        trigger: 'mention',
        visibility: direct ? 'private' : 'channel',
        limits: { maxCostUsd: ticket.capUsd },
        approver: bot.approvals.approverFor(
          caller.userId,
          runId,
          async (payload) => {
            const request = await message.reply(payload);
            return {
              edit: async (content) => {
                await request.edit({ content, components: [] });
              },
            };
          },
          (error) => {
            bot.log.warn({ err: error, runId }, 'could not update an approval request');
          },
        ),
      });
      cost = result.costUsd;
      clearInterval(typing);
      const [first, ...rest] = answerMessages(result);
      if (first !== undefined) await message.reply(first);
      for (const part of rest) if (message.channel.isSendable()) await message.channel.send(part);
      return result;
    })();
    bot.runs.add({ runId, userId: caller.userId, channelId: message.channelId, guildId: message.guildId, private: direct, scheduled: false, controller, done });
    await done;
  } catch (error) {
    bot.log.warn({ err: error, runId }, 'could not answer a message');
    await message.author.send(`I could not answer your message: ${explainDiscordError(error)}`).catch(() => undefined);
  } finally {
    clearInterval(typing);
    ticket.finish(cost, runId);
  }
}
