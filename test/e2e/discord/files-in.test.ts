import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FakeDiscord } from '../../fakes/discord/index.js';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { cdnEnv, customersCsv, toolThenAnswer } from './files-helpers.js';
import { useBot } from './harness.js';

const openai = useFakeOpenAi();
const startBot = useBot(openai);
const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/files');

/** Counts the CSV rows whose last field is "churned", in whatever the read_file tool returned. */
const countChurned = (toolResult: string) => toolResult.split(/\r?\n/).filter((line) => /^\s*\d+,[^,]*,churned\s*$/.test(line)).length;

describe('files in: /agent attachments and conversation messages', () => {
  it('downloads a CSV from the CDN into the workspace, and the model counts from it with read_file', async () => {
    const { discord } = await startBot({ env: cdnEnv() });
    const statuses = ['churned', 'active', 'churned', 'active', 'active', 'churned', 'churned'] as const;
    const csv = customersCsv(statuses.map((status, i) => ({ name: `Customer ${i}`, status })));
    const upload = discord.upload('customers.csv', csv, 'text/csv');
    toolThenAnswer(
      openai,
      () => ({ kind: 'tool_calls', calls: [{ name: 'read_file', arguments: { path: 'customers.csv' } }] }),
      (result) => `${countChurned(result)} customers churned.`,
    );
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'How many customers churned?', file1: { attachment: upload } } });
    const answer = await discord.waitFor(() => i.followUps().find((m) => m.content.endsWith('customers churned.')));
    expect(answer.content).toBe('4 customers churned.');
    // Fetched from the CDN, once, at the URL Discord gave.
    expect(discord.cdn.requests.filter((r) => r.status === 200).map((r) => r.path)).toEqual([new URL(upload.url).pathname]);
    // The model was told about the file before it read it.
    expect(JSON.stringify(openai.chatRequests()[0]?.messages)).toContain('customers.csv');
    const status = await discord.waitFor(() => (i.original()?.content.startsWith('✅') === true ? i.original() : undefined));
    expect(status.content).toContain('📎 `customers.csv`');
  });

  it('hands the model the text of a PDF', async () => {
    const { discord } = await startBot({ env: cdnEnv() });
    const pdf = await readFile(path.join(FIXTURES, 'report.pdf'));
    const upload = discord.upload('report.pdf', pdf, 'application/pdf');
    toolThenAnswer(
      openai,
      () => ({ kind: 'tool_calls', calls: [{ name: 'read_file', arguments: { path: 'report.pdf.txt' } }] }),
      (result) => `The report says: ${result.replace(/\s+/g, ' ').trim().slice(0, 300)}`,
    );
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'Summarise the report', file1: { attachment: upload } } });
    const answer = await discord.waitFor(() => i.followUps().find((m) => m.content.startsWith('The report says')));
    // The fixture's text (test/fixtures/files/make-fixtures.py), read by the model from the extracted text.
    expect(answer.content).toMatch(/Quarterly/i);
  });

  it('refuses a file too large by name and reason, and runs with the rest', async () => {
    const { discord } = await startBot({ env: cdnEnv({ CAIRN_FILE_MAX_MB: '1' }) });
    const small = discord.upload('notes.txt', Buffer.from('alpha\nbeta\n'), 'text/plain');
    const big = discord.upload('huge.csv', Buffer.alloc(2 * 1024 * 1024, 'a'), 'text/csv');
    toolThenAnswer(
      openai,
      () => ({ kind: 'tool_calls', calls: [{ name: 'list_files', arguments: {} }] }),
      (result) => `Files I have: ${result.includes('notes.txt') ? 'notes.txt' : 'none'}${result.includes('huge') ? ' and huge.csv' : ''}.`,
    );
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'Which files do you have?', file1: { attachment: big }, file2: { attachment: small } } });
    const answer = await discord.waitFor(() => i.followUps().find((m) => m.content.startsWith('Files I have')));
    expect(answer.content).toBe('Files I have: notes.txt.');
    const status = await discord.waitFor(() => (i.original()?.content.startsWith('✅') === true ? i.original() : undefined));
    expect(status.content).toMatch(/⚠️ Not taken: `huge\.csv` — .*2 MB.*1 MB/);
    // While downloading, the status said so.
    const edits = discord.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/messages/@original')).map((r) => JSON.stringify(r.body));
    expect(edits.some((body) => body.includes('📥 Fetching 2 files…'))).toBe(true);
    // What Discord reported was enough: the large file was never downloaded.
    expect(discord.cdn.requests.some((r) => r.path.endsWith('/huge.csv'))).toBe(false);
  });

  it('refuses files past the count limit by name in a DM, and answers with the others', async () => {
    const { discord } = await startBot({ env: cdnEnv({ CAIRN_FILES_MAX_COUNT: '2' }) });
    const uploads = ['a.txt', 'b.txt', 'c.txt'].map((name) => discord.upload(name, Buffer.from(`contents of ${name}\n`), 'text/plain'));
    toolThenAnswer(
      openai,
      () => ({ kind: 'tool_calls', calls: [{ name: 'list_files', arguments: {} }] }),
      (result) => `I have ${['a.txt', 'b.txt', 'c.txt'].filter((n) => result.includes(n)).join(' and ')}.`,
    );
    const { channelId: dm } = discord.dm({ user: discord.users.bob, content: 'What did I send?', attachments: uploads });
    const answer = await discord.waitFor(() => discord.channelMessages(dm).find((m) => m.authorId === discord.botUserId && m.content.startsWith('I have')));
    expect(answer.content).toBe('I have a.txt and b.txt.');
    const refusal = discord.channelMessages(dm).find((m) => m.authorId === discord.botUserId && m.content.includes('Not taken'));
    expect(refusal?.content).toMatch(/⚠️ Not taken: `c\.txt` — /);
  });

  it('answers a DM that is only a file, with the file in the workspace', async () => {
    const { discord } = await startBot({ env: cdnEnv() });
    const csv = customersCsv([{ name: 'Ada', status: 'churned' }, { name: 'Bo', status: 'active' }]);
    toolThenAnswer(
      openai,
      () => ({ kind: 'tool_calls', calls: [{ name: 'read_file', arguments: { path: 'customers.csv' } }] }),
      (result) => `A customer list: ${countChurned(result)} churned.`,
    );
    const { channelId: dm } = discord.dm({ user: discord.users.bob, content: '', attachments: [discord.upload('customers.csv', csv, 'text/csv')] });
    const answer = await discord.waitFor(() => discord.channelMessages(dm).find((m) => m.authorId === discord.botUserId && m.content.startsWith('A customer list')));
    expect(answer.content).toBe('A customer list: 1 churned.');
  });

  it('refuses an attachment whose URL is not on Discord’s CDN, and never contacts that host', async () => {
    let contacted = 0;
    const elsewhere = createServer((_req, res) => {
      contacted += 1;
      res.end('secret internal data');
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    try {
      const { discord } = await startBot({ env: cdnEnv() });
      const real = discord.upload('plan.txt', Buffer.from('the plan\n'), 'text/plain');
      const crafted = { ...real, id: `${real.id}1`, filename: 'internal.txt', url: `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/internal.txt` };
      toolThenAnswer(
        openai,
        () => ({ kind: 'tool_calls', calls: [{ name: 'list_files', arguments: {} }] }),
        (result) => `Listed: ${result.includes('internal') ? 'internal.txt' : 'no internal file'}.`,
      );
      discord.postMessage({ user: discord.users.alice, channelId: discord.channels.general, content: 'what is in these?', mentionBot: true, attachments: [crafted] });
      const refusal = await discord.waitFor(() => findBotMessage(discord, (c) => c.includes('Not taken')));
      expect(refusal).toMatch(/`internal\.txt` — not a Discord attachment URL/);
      await discord.waitFor(() => findBotMessage(discord, (c) => c.startsWith('Listed')));
      expect(findBotMessage(discord, (c) => c.startsWith('Listed'))).toBe('Listed: no internal file.');
      expect(contacted).toBe(0);
    } finally {
      await new Promise<void>((resolve) => elsewhere.close(() => { resolve(); }));
    }
  });
});

/** Content of the bot's message (in any channel or thread) matching `match`. */
function findBotMessage(discord: FakeDiscord, match: (content: string) => boolean): string | undefined {
  const places = [discord.channels.general, ...discord.threads().map((t) => t.id)];
  for (const place of places) {
    const found = discord.channelMessages(place).find((m) => m.authorId === discord.botUserId && match(m.content));
    if (found) return found.content;
  }
  return undefined;
}
