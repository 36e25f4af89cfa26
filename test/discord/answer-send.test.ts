/**
 * An answer part whose files Discord refuses where it goes (40005 Request entity too large: a DM
 * or channel allows less than the interaction said) is sent again without them, and the files are
 * named after it: the answer and its buttons are never lost to a file.
 */
import { DiscordAPIError } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { NO_PREVIEWS, sendPart, type AnswerPart } from '../../src/discord/answer.js';

/** The error discord.js throws for Discord's 413 with code 40005 (body as Discord sends it). */
function tooLarge(): DiscordAPIError {
  return new DiscordAPIError({ code: 40005, message: 'Request entity too large' }, 40005, 413, 'POST', 'https://discord.com/api/v10/users/@me/channels', { files: [] });
}

const part: AnswerPart = { content: 'Here is the chart.', flags: NO_PREVIEWS, files: [{ attachment: Buffer.alloc(8), name: 'chart.png' }] };

describe('sending an answer part', () => {
  it('sends it again without its files when Discord refuses their size, and names them after it', async () => {
    const sent: AnswerPart[] = [];
    const result = await sendPart(
      part,
      (p) => {
        if (p.files !== undefined) return Promise.reject(tooLarge());
        sent.push(p);
        return Promise.resolve(sent.length);
      },
      'run-abc123',
    );
    expect(result).toEqual({ sent: 1, filesPosted: false });
    expect(sent.map((p) => p.content)).toEqual(['Here is the chart.', '📎 Discord refused `chart.png` here as too large; it is kept with the run: `/runs show id:run-abc123`']);
    expect(sent.map((p) => p.flags)).toEqual([NO_PREVIEWS, NO_PREVIEWS]);
  });

  it('passes other errors on, and posts files when Discord takes them', async () => {
    await expect(sendPart(part, () => Promise.reject(new Error('network down')), 'run-abc123')).rejects.toThrow('network down');
    await expect(sendPart(part, () => Promise.resolve('id-1'), 'run-abc123')).resolves.toEqual({ sent: 'id-1', filesPosted: true });
  });
});
