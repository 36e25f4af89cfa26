/**
 * Autocomplete in the fake Discord, through the real discord.js Client: the interaction carries
 * the focused option and what was typed, the bot's answer comes back as choices, and answers
 * Discord refuses (over 25 choices, names over 100 characters) get Discord's 400 50035.
 */
import { once } from 'node:events';
import { ApplicationCommandOptionType, Client, Events, type AutocompleteInteraction, type Interaction } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiError, INTENTS, next } from './discord/client-helpers.js';
import { startFakeDiscord, type FakeDiscord } from './discord/index.js';

const isAutocomplete = (i: Interaction): i is AutocompleteInteraction => i.isAutocomplete();

describe('fake Discord autocomplete', () => {
  let fake: FakeDiscord;
  let client: Client;
  beforeAll(async () => {
    fake = await startFakeDiscord();
    client = new Client({ intents: INTENTS, rest: { api: fake.restApi } });
    const ready = once(client, Events.ClientReady);
    await client.login(fake.token);
    await ready;
    await client.application?.commands.set(
      [
        {
          name: 'config',
          description: 'Settings',
          options: [
            {
              type: ApplicationCommandOptionType.Subcommand,
              name: 'set',
              description: 'Set one',
              options: [
                { type: ApplicationCommandOptionType.String, name: 'key', description: 'Key', required: true, choices: [{ name: 'model', value: 'model' }] },
                { type: ApplicationCommandOptionType.String, name: 'value', description: 'Value', required: true, autocomplete: true },
                { type: ApplicationCommandOptionType.String, name: 'scope', description: 'Scope' },
              ],
            },
          ],
        },
      ],
      fake.guildId,
    );
  });
  afterAll(async () => {
    await client.destroy();
    await fake.close();
  });

  const typing = (value: string) =>
    fake.autocomplete({ user: fake.users.alice, channelId: fake.channels.general, name: 'config', subcommand: 'set', options: { key: 'model' }, focused: { name: 'value', value } });

  it('delivers what is being typed and returns the choices the bot answers with', async () => {
    const pending = next(client, isAutocomplete);
    const handle = typing('ll');
    const interaction = await pending;
    expect(interaction.commandName).toBe('config');
    expect(interaction.options.getSubcommand()).toBe('set');
    expect(interaction.options.getFocused(true)).toMatchObject({ name: 'value', value: 'll' });
    expect(interaction.options.getString('key')).toBe('model');
    // Options not filled in yet are simply absent, required or not.
    expect(interaction.options.getString('scope')).toBeNull();
    await interaction.respond([{ name: 'llama3.1:8b', value: 'llama3.1:8b' }]);
    expect(await handle.choices()).toEqual([{ name: 'llama3.1:8b', value: 'llama3.1:8b' }]);
    // One answer only.
    expect((await apiError(client.rest.post(`/interactions/${interaction.id}/${interaction.token}/callback`, { body: { type: 8, data: { choices: [] } }, auth: false }))).code).toBe(40060);
  });

  it('refuses more than 25 choices and names over 100 characters with Discord’s form errors', async () => {
    const pending = next(client, isAutocomplete);
    const handle = typing('');
    const interaction = await pending;
    const many = Array.from({ length: 26 }, (_, i) => ({ name: `model-${i}`, value: `model-${i}` }));
    const tooMany = await apiError(interaction.respond(many));
    expect(tooMany.status).toBe(400);
    expect(tooMany.code).toBe(50035);
    expect(tooMany.rawError).toEqual({
      code: 50035,
      message: 'Invalid Form Body',
      errors: { data: { choices: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' }] } } },
    });
    const long = await apiError(interaction.respond([{ name: 'x'.repeat(101), value: 'x' }]));
    expect(long.rawError).toMatchObject({ errors: { data: { choices: { '0': { name: { _errors: [{ code: 'BASE_TYPE_BAD_LENGTH' }] } } } } } });
    // Refused answers do not count: a valid one still goes through.
    await interaction.respond(many.slice(0, 25));
    expect(await handle.choices()).toHaveLength(25);
  });

  it('is only sent for options that have autocomplete, in commands registered there', () => {
    expect(() => fake.autocomplete({ user: fake.users.alice, channelId: fake.channels.general, name: 'config', subcommand: 'set', focused: { name: 'scope', value: 'x' } })).toThrow(
      /option "scope" has no autocomplete/,
    );
    expect(() => fake.autocomplete({ user: fake.users.alice, channelId: fake.channels.otherGeneral, name: 'config', subcommand: 'set', focused: { name: 'value', value: 'x' } })).toThrow(
      /cannot see channel|not a registered command/,
    );
  });
});
