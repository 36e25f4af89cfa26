/**
 * The fake Discord's replies, as conversations depend on them, through the real discord.js client:
 * a reply is MESSAGE_CREATE type 19 with `message_reference` and `referenced_message`; a reply
 * that pings the bot mentions it, so its content arrives without the Message Content intent; one
 * that does not ping arrives empty, unless the intent is granted. Discord docs: Resources > Message
 * (Message Object, Message Reference Structure, Message Types), Gateway > Privileged Intents.
 */
import { once } from 'node:events';
import { Client, Events, GatewayIntentBits, MessageType, Partials, RESTJSONErrorCodes, type Message } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { apiError, INTENTS, sendable } from '../../fakes/discord/client-helpers.js';
import { startFakeDiscord, type FakeDiscord, type FakeDiscordOptions } from '../../fakes/discord/index.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function connect(options: FakeDiscordOptions = {}, intents = INTENTS): Promise<{ fake: FakeDiscord; client: Client }> {
  const fake = await startFakeDiscord(options);
  const client = new Client({ intents, partials: [Partials.Message, Partials.Channel], rest: { api: fake.restApi } });
  const ready = once(client, Events.ClientReady);
  await client.login(fake.token);
  await ready;
  cleanups.push(async () => {
    await client.destroy();
    await fake.close();
  });
  return { fake, client };
}

/** The next MESSAGE_CREATE the client sees from someone else (register before causing it). */
function nextMessage(client: Client): Promise<Message> {
  return new Promise((resolve) => {
    const listener = (message: Message) => {
      if (message.author.id === client.user?.id) return;
      client.off(Events.MessageCreate, listener);
      resolve(message);
    };
    client.on(Events.MessageCreate, listener);
  });
}

describe('replies in the fake Discord', () => {
  it('a reply that pings the bot arrives as a mention, with its content and the message it replies to', async () => {
    const { fake, client } = await connect();
    const general = await sendable(client, fake.channels.general);
    const mine = await general.send('Here is my answer.');

    const arriving = nextMessage(client);
    const posted = fake.postMessage({ user: fake.users.bob, channelId: fake.channels.general, content: 'Thanks, and then?', replyTo: mine.id });
    const reply = await arriving;
    expect(reply.type).toBe(MessageType.Reply);
    expect(reply.reference).toMatchObject({ messageId: mine.id, channelId: fake.channels.general, guildId: fake.guildId });
    expect(reply.content).toBe('Thanks, and then?');
    expect(reply.mentions.users.has(fake.botUserId)).toBe(true);
    expect(reply.mentions.repliedUser?.id).toBe(fake.botUserId);
    expect((await reply.fetchReference()).content).toBe('Here is my answer.');
    expect(fake.message(posted.id)?.replyTo).toBe(mine.id);
  });

  it('without a ping the content is empty unless the Message Content intent is granted', async () => {
    const bare = await connect();
    const mine = await (await sendable(bare.client, bare.fake.channels.general)).send('An answer.');
    const quiet = nextMessage(bare.client);
    bare.fake.postMessage({ user: bare.fake.users.bob, channelId: bare.fake.channels.general, content: 'no ping', replyTo: mine.id, ping: false });
    const hidden = await quiet;
    expect(hidden.content).toBe('');
    expect(hidden.mentions.users.size).toBe(0);
    expect(hidden.reference?.messageId).toBe(mine.id);

    const granted = await connect({ privilegedIntents: ['MessageContent'] }, [...INTENTS, GatewayIntentBits.MessageContent]);
    const answer = await (await sendable(granted.client, granted.fake.channels.general)).send('An answer.');
    const seen = nextMessage(granted.client);
    granted.fake.postMessage({ user: granted.fake.users.bob, channelId: granted.fake.channels.general, content: 'no ping', replyTo: answer.id, ping: false });
    expect((await seen).content).toBe('no ping');
  });

  it('the message replied to follows the content rule on its own', async () => {
    const { fake, client } = await connect();
    const asked = nextMessage(client);
    const question = fake.postMessage({ user: fake.users.alice, channelId: fake.channels.general, content: 'question for the bot', mentionBot: true });
    await asked;
    const second = nextMessage(client);
    fake.postMessage({ user: fake.users.bob, channelId: fake.channels.general, content: 'side remark', replyTo: question.id });
    const remark = await second;
    // Bob's reply pings Alice, not the bot: hidden. Alice's message mentions the bot: visible.
    expect(remark.content).toBe('');
    expect(remark.mentions.repliedUser?.id).toBe(fake.users.alice.id);
    expect(remark.channel.messages.cache.get(question.id)?.content).toBe(`<@${fake.botUserId}> question for the bot`);
  });

  it('the bot replies with a message reference, and one to a message of another channel is refused', async () => {
    const { fake, client } = await connect();
    const asked = nextMessage(client);
    const question = fake.postMessage({ user: fake.users.alice, channelId: fake.channels.general, content: 'hello', mentionBot: true });
    const reply = await (await asked).reply('hi');
    expect(fake.message(reply.id)).toMatchObject({ replyTo: question.id });
    const elsewhere = await sendable(client, fake.channels.noThreads);
    const refused = await apiError(elsewhere.send({ content: 'lost', reply: { messageReference: question.id } }));
    expect(refused.code).toBe(RESTJSONErrorCodes.InvalidFormBodyOrContentType);
    // fail_if_not_exists: false sends it as a plain message.
    const plain = await elsewhere.send({ content: 'plain', reply: { messageReference: question.id, failIfNotExists: false } });
    expect(fake.message(plain.id)?.replyTo).toBeUndefined();
  });
});
