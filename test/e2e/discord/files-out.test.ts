import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FakeDiscord, FakeMessage } from '../../fakes/discord/index.js';
import { useFakeOpenAi } from '../../fakes/use-fake-openai.js';
import { formatOf } from '../../agent/harness.js';
import { lastToolResult } from './files-helpers.js';
import { eventually, privateText, useBot } from './harness.js';

const openai = useFakeOpenAi();
const startBot = useBot(openai);

const REPORT = 'region,revenue\nLisbon,112\nPorto,87\n';

/** A model that writes `report.csv`, attaches it, then answers; each step follows the last tool result. */
function writeAttachAnswer(answer = 'Here is the report.'): void {
  openai.respondWith((body) => {
    if (formatOf(body) === 'report_change') return { kind: 'text', content: JSON.stringify({ changed: true, what: 'report' }) };
    const result = lastToolResult(body);
    if (result === undefined) return { kind: 'tool_calls', calls: [{ name: 'write_file', arguments: { path: 'report.csv', content: REPORT } }] };
    if (!result.includes('Attached')) return { kind: 'tool_calls', calls: [{ name: 'attach_file', arguments: { path: 'report.csv' } }] };
    return { kind: 'text', content: answer };
  });
}

/** The bytes of each attachment as Discord's CDN serves them, fetched at the URL Discord gave. */
async function downloaded(message: FakeMessage): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const a of message.attachments) {
    const response = await fetch(a.url ?? '');
    expect(response.status).toBe(200);
    files.set(a.filename, Buffer.from(await response.arrayBuffer()));
  }
  return files;
}

const runIdOf = (content: string) => /run `([^`]+)`/.exec(content)?.[1] ?? '';

describe('files out: attach_file posts workspace files with the answer', () => {
  it('posts an attached file with the answer; the bytes that reach Discord are the file’s, and the run record says so', async () => {
    const { discord, app } = await startBot();
    writeAttachAnswer();
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'Make me the revenue report' } });
    const answer = await discord.waitFor(() => i.followUps().find((m) => m.content === 'Here is the report.'));
    expect(answer.attachments.map((a) => a.filename)).toEqual(['report.csv']);
    expect((await downloaded(answer)).get('report.csv')?.toString('utf8')).toBe(REPORT);
    const status = await discord.waitFor(() => (i.original()?.content.startsWith('✅') === true ? i.original() : undefined));
    const record = await eventually(async () => (await app.runRecords.get(runIdOf(status.content)))?.filesOut[0]);
    expect(record).toEqual({ name: 'report.csv', path: 'report.csv', bytes: REPORT.length, posted: true });
  });

  it('names a file too large for Discord with its size and where it is kept, and posts the rest', async () => {
    const { discord, app, dataDir } = await startBot();
    // Stands in for a chart a run_code step drew: 14 MB, over Discord's 10 MiB (attach_file takes up to 25 MB).
    const big = Buffer.alloc(14 * 1024 * 1024, 7);
    openai.respondWith((body) => {
      const toolResults = body.messages.filter((m) => m.role === 'tool').length;
      if (toolResults === 0) return { kind: 'tool_calls', calls: [{ name: 'write_file', arguments: { path: 'report.csv', content: REPORT } }] };
      if (toolResults === 1) {
        const root = path.join(dataDir, 'workspaces');
        const [dir] = readdirSync(root);
        writeFileSync(path.join(root, dir ?? '', 'chart-big.png'), big);
        return { kind: 'tool_calls', calls: [{ name: 'attach_file', arguments: { path: 'report.csv' } }, { name: 'attach_file', arguments: { path: 'chart-big.png' } }] };
      }
      return { kind: 'text', content: 'Report and chart attached.' };
    });
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'Report with a chart' } });
    const answer = await discord.waitFor(() => i.followUps().find((m) => m.content.startsWith('Report and chart attached.')));
    const status = await discord.waitFor(() => (i.original()?.content.startsWith('✅') === true ? i.original() : undefined));
    const runId = runIdOf(status.content);
    expect(answer.content).toContain(`📎 \`chart-big.png\` (14 MB) is too large for Discord; it is kept with the run: \`/runs show id:${runId}\``);
    expect(answer.attachments.map((a) => a.filename)).toEqual(['report.csv']);
    // Nothing Discord would refuse was sent.
    expect(discord.requests.filter((r) => r.status === 413)).toEqual([]);
    const record = await eventually(async () => ((await app.runRecords.get(runId))?.filesOut.length === 2 ? (await app.runRecords.get(runId))?.filesOut : undefined));
    expect(record).toEqual([
      { name: 'report.csv', path: 'report.csv', bytes: REPORT.length, posted: true },
      { name: 'chart-big.png', path: 'chart-big.png', bytes: big.length, posted: false },
    ]);
  });

  it('keeps a private run’s files in the ephemeral follow-up: nothing in the channel, no thread', async () => {
    const { discord } = await startBot();
    writeAttachAnswer('Your private report.');
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'Make me the revenue report', private: true } });
    const answer = await discord.waitFor(() => i.followUps().find((m) => m.content === 'Your private report.'));
    expect(answer.flags & 64).toBe(64);
    expect((await downloaded(answer)).get('report.csv')?.toString('utf8')).toBe(REPORT);
    expect(discord.channelMessages(discord.channels.general)).toEqual([]);
    expect(discord.threads()).toEqual([]);
  });

  it('posts a file attached in a conversation with the mention’s answer', async () => {
    const { discord } = await startBot();
    writeAttachAnswer('Report attached.');
    discord.postMessage({ user: discord.users.bob, channelId: discord.channels.general, content: 'make me the revenue report', mentionBot: true });
    const answer = await discord.waitFor(() => botMessage(discord, 'Report attached.'));
    expect((await downloaded(answer)).get('report.csv')?.toString('utf8')).toBe(REPORT);
  });

  it('carries a file with a scheduled report', async () => {
    const { discord } = await startBot();
    writeAttachAnswer('Weekly revenue report.');
    const admin = discord.users.carol;
    const added = await privateText(discord.slash({ user: admin, channelId: discord.channels.general, name: 'schedule', subcommand: 'add', options: { cron: '0 9 * * 1', goal: 'Weekly revenue report' } }), discord);
    const id = /`([0-9a-z]{6})`/.exec(added)?.[1] ?? '';
    await privateText(discord.slash({ user: admin, channelId: discord.channels.general, name: 'schedule', subcommand: 'run', options: { id } }), discord);
    const report = await discord.waitFor(() => discord.channelMessages(discord.channels.general).find((m) => m.content === 'Weekly revenue report.'));
    expect((await downloaded(report)).get('report.csv')?.toString('utf8')).toBe(REPORT);
  });

  // Needs the sandbox (bwrap) and matplotlib; CI has both and must run these.
  it.skipIf(!canDrawCharts())('posts a PNG chart a run_code step drew with matplotlib', async () => {
    const { discord } = await startBot({ env: CHARTS_ENV });
    drawChartThenAnswer('Chart attached.');
    const i = discord.slash({ user: discord.users.alice, channelId: discord.channels.general, name: 'agent', options: { goal: 'Chart revenue by city' } });
    const answer = await discord.waitFor(() => i.followUps().find((m) => m.content === 'Chart attached.'), 60_000);
    expectChart((await downloaded(answer)).get('chart.png'));
    expect(answer.attachments[0]).toMatchObject({ filename: 'chart.png', width: 400, height: 300 });
  }, 90_000);

  it.skipIf(!canDrawCharts())('posts the chart of a scheduled report with the report', async () => {
    const { discord } = await startBot({ env: CHARTS_ENV });
    drawChartThenAnswer('Weekly revenue, charted.');
    const admin = discord.users.carol;
    const added = await privateText(discord.slash({ user: admin, channelId: discord.channels.general, name: 'schedule', subcommand: 'add', options: { cron: '0 9 * * 1', goal: 'Chart weekly revenue by city' } }), discord);
    const id = /`([0-9a-z]{6})`/.exec(added)?.[1] ?? '';
    await privateText(discord.slash({ user: admin, channelId: discord.channels.general, name: 'schedule', subcommand: 'run', options: { id } }), discord);
    const report = await discord.waitFor(() => discord.channelMessages(discord.channels.general).find((m) => m.content === 'Weekly revenue, charted.'), 60_000);
    expectChart((await downloaded(report)).get('chart.png'));
  }, 90_000);
});

/** run_code is high risk: this operator lets it run without asking, so scheduled runs can draw too. */
const CHARTS_ENV = { CAIRN_APPROVAL_RISK: 'none' };

/** A model that draws a 4×3 in, 100 dpi bar chart with run_code, attaches it, then answers. */
function drawChartThenAnswer(answer: string): void {
  const code = [
    'import matplotlib.pyplot as plt',
    'plt.figure(figsize=(4, 3), dpi=100)',
    "plt.bar(['Lisbon', 'Porto'], [112, 87])",
    "plt.savefig('chart.png', dpi=100)",
    "print('saved')",
  ].join('\n');
  openai.respondWith((body) => {
    const result = lastToolResult(body);
    if (result === undefined) return { kind: 'tool_calls', calls: [{ name: 'run_code', arguments: { code } }] };
    if (!result.includes('Attached')) {
      // The chart must have been drawn: a failed run_code ends the test here, with its output.
      if (!result.includes('saved')) return { kind: 'text', content: `run_code failed: ${result}` };
      return { kind: 'tool_calls', calls: [{ name: 'attach_file', arguments: { path: 'chart.png' } }] };
    }
    return { kind: 'text', content: answer };
  });
}

/** A real PNG: its signature, then the IHDR chunk with the figure's 400×300 pixels. */
function expectChart(png: Buffer | undefined): void {
  expect(png?.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png?.subarray(12, 16).toString('latin1')).toBe('IHDR');
  expect([png?.readUInt32BE(16), png?.readUInt32BE(20)]).toEqual([400, 300]);
}

function botMessage(discord: FakeDiscord, content: string): FakeMessage | undefined {
  for (const place of [discord.channels.general, ...discord.threads().map((t) => t.id)]) {
    const found = discord.channelMessages(place).find((m) => m.authorId === discord.botUserId && m.content === content);
    if (found) return found;
  }
  return undefined;
}

/** bwrap and matplotlib here; under CI they must be, so the test is never skipped there. */
function canDrawCharts(): boolean {
  if (process.env.CI === 'true') return true;
  try {
    execFileSync('bwrap', ['--version'], { stdio: 'ignore' });
    // The Python run_code uses (CAIRN_PYTHON's default), not whichever is first on the PATH.
    execFileSync('/usr/bin/python3', ['-c', 'import matplotlib'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
