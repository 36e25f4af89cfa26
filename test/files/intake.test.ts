/**
 * Files in, through fetchAttachments against a fake CDN on 127.0.0.1: what is taken, what is
 * refused and why, in the words the sender reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchAttachments, refusalText, type FetchAttachmentsOptions } from '../../src/files/index.js';
import { startFakeCdn, type FakeCdn } from './fake-cdn.js';
import { fixture, limits, ref } from './helpers.js';

let cdn: FakeCdn;
let elsewhere: FakeCdn;

beforeAll(async () => {
  cdn = await startFakeCdn();
  elsewhere = await startFakeCdn();
});
afterAll(async () => {
  await cdn.close();
  await elsewhere.close();
});

function options(overrides: Partial<FetchAttachmentsOptions> = {}): FetchAttachmentsOptions {
  return { cdnOrigins: ['https://cdn.discordapp.com', cdn.origin], limits: limits(), ...overrides };
}

/** Serves `bytes` at a fresh path and returns the ref Discord would give for it. */
function served(name: string, bytes: Buffer, contentType = 'application/octet-stream') {
  const path = `/attachments/1/${String(Math.random()).slice(2)}/${encodeURIComponent(name)}`;
  cdn.file(path, bytes, contentType);
  return ref(name, cdn.url(path), bytes.length, contentType);
}

describe('text files', () => {
  it('takes text and CSV as they are', async () => {
    const csv = Buffer.from('city,revenue\nLisbon,12\nPorto,7\n');
    const notes = Buffer.from('# Plan\n\n- ship it ✅\n');
    const intake = await fetchAttachments([served('sales.csv', csv, 'text/csv'), served('plan.md', notes)], options());
    expect(intake.refused).toEqual([]);
    expect(intake.files.map((f) => [f.name, f.kind, f.mimeType])).toEqual([
      ['sales.csv', 'text', 'text/csv'],
      ['plan.md', 'text', 'text/markdown'],
    ]);
    expect(intake.files[0]?.bytes.equals(csv)).toBe(true);
    expect(intake.files[1]?.bytes.toString('utf8')).toBe('# Plan\n\n- ship it ✅\n');
    expect(intake.files[0]?.extractedText).toBeUndefined();
  });

  it('re-encodes UTF-16 text (as spreadsheets export it) to UTF-8', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('name\tcount\nÅsa\t3\n', 'utf16le')]);
    const intake = await fetchAttachments([served('export.tsv', utf16)], options());
    expect(intake.files[0]?.bytes.toString('utf8')).toBe('name\tcount\nÅsa\t3\n');
    expect(intake.files[0]?.mimeType).toBe('text/tab-separated-values');
  });

  it('refuses a text-named file that is not UTF-8 text', async () => {
    const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a, 0xff, 0xfe, 0x00, 0x00, 0x01]);
    const intake = await fetchAttachments([served('data.csv', latin1)], options());
    expect(intake.files).toEqual([]);
    expect(intake.refused.map(refusalText)).toEqual(['data.csv: it is not UTF-8 text (save it as UTF-8 and send it again)']);
  });
});

describe('images and unknown types', () => {
  it('recognises an image from its bytes, whatever Discord said it was', async () => {
    const intake = await fetchAttachments([served('chart.png', fixture('pixel.png'), 'text/plain')], options());
    expect(intake.files.map((f) => [f.name, f.kind, f.mimeType])).toEqual([['chart.png', 'image', 'image/png']]);
    expect(intake.files[0]?.bytes.equals(fixture('pixel.png'))).toBe(true);
  });

  it('refuses a zip and binary data, naming the type and what Cairn takes', async () => {
    const binary = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) % 256));
    const intake = await fetchAttachments([served('archive.zip', fixture('archive.zip')), served('blob.bin', binary)], options());
    expect(intake.files).toEqual([]);
    expect(intake.refused.map(refusalText)).toEqual([
      'archive.zip: unsupported type (application/zip); Cairn takes text, code, CSV, JSON, Markdown, PDF, DOCX and images',
      'blob.bin: unsupported type (application/octet-stream); Cairn takes text, code, CSV, JSON, Markdown, PDF, DOCX and images',
    ]);
  });
});

describe('where files come from', () => {
  it('refuses a URL on another host without any request reaching it', async () => {
    elsewhere.file('/attachments/1/2/report.pdf', fixture('report.pdf'), 'application/pdf');
    let fetchCalls = 0;
    const countingFetch: typeof fetch = (input, init) => {
      fetchCalls += 1;
      return fetch(input, init);
    };
    const intake = await fetchAttachments(
      [
        ref('report.pdf', elsewhere.url('/attachments/1/2/report.pdf'), 624),
        ref('plain.txt', 'http://cdn.discordapp.com/attachments/1/2/plain.txt', 10),
        ref('odd.txt', 'javascript:alert(1)', 10),
        ref('lookalike.txt', 'https://cdn.discordapp.com.evil.example/attachments/1/2/lookalike.txt', 10),
        ref('userinfo.txt', `https://cdn.discordapp.com@${elsewhere.origin.replace('http://', '')}/attachments/1/2/report.pdf`, 10),
      ],
      options({ fetchImpl: countingFetch, limits: limits({ maxFiles: 10 }) }),
    );
    expect(intake.files).toEqual([]);
    expect(intake.refused.map(refusalText)).toEqual([
      'report.pdf: not a Discord attachment URL',
      'plain.txt: not a Discord attachment URL',
      'odd.txt: not a Discord attachment URL',
      'lookalike.txt: not a Discord attachment URL',
      'userinfo.txt: not a Discord attachment URL',
    ]);
    expect(elsewhere.requests).toEqual([]);
    expect(fetchCalls).toBe(0);
  });

  it('refuses a redirect without following it', async () => {
    elsewhere.file('/moved.txt', Buffer.from('should never be read'));
    cdn.route('/attachments/1/9/moved.txt', (_req, res) => {
      res.writeHead(302, { location: elsewhere.url('/moved.txt') }).end();
    });
    const before = elsewhere.requests.length;
    const intake = await fetchAttachments([ref('moved.txt', cdn.url('/attachments/1/9/moved.txt'), 20)], options());
    expect(intake.files).toEqual([]);
    expect(intake.refused.map(refusalText)).toEqual(['moved.txt: the CDN answered with a redirect (HTTP 302), which Cairn does not follow']);
    expect(elsewhere.requests.length).toBe(before);
  });

  it('turns each download failure into a refusal for that file only', async () => {
    cdn.route('/attachments/1/3/gone.txt', (_req, res) => res.writeHead(403).end());
    cdn.route('/attachments/1/3/reset.txt', (req, res) => {
      res.writeHead(200, { 'content-length': 1000 });
      res.write('x'.repeat(100), () => req.socket.destroy());
    });
    cdn.route('/attachments/1/3/stalls.txt', (_req, res) => res.writeHead(200, { 'content-length': 1000 }).write('x'));
    const intake = await fetchAttachments(
      [
        ref('missing.txt', cdn.url('/attachments/1/3/missing.txt'), 10),
        ref('gone.txt', cdn.url('/attachments/1/3/gone.txt'), 10),
        ref('reset.txt', cdn.url('/attachments/1/3/reset.txt'), 1000),
        ref('stalls.txt', cdn.url('/attachments/1/3/stalls.txt'), 1000),
        served('fine.txt', Buffer.from('still here')),
      ],
      options({ limits: limits({ maxFiles: 5, downloadTimeoutMs: 500 }) }),
    );
    expect(intake.files.map((f) => f.name)).toEqual(['fine.txt']);
    expect(intake.refused.map(refusalText)).toEqual([
      'missing.txt: Discord no longer has it (HTTP 404: the link may have expired); send it again',
      'gone.txt: Discord refused the download (HTTP 403: the link may have expired); send it again',
      'reset.txt: the connection to Discord was lost during the download',
      'stalls.txt: the download took longer than 1 s',
    ]);
  });
});

describe('limits', () => {
  it('refuses a file Discord reported as too large without downloading it', async () => {
    const big = ref('video.mp4', cdn.url('/attachments/1/4/video.mp4'), 30 * 1024 * 1024);
    const intake = await fetchAttachments([big], options());
    expect(intake.refused.map(refusalText)).toEqual(['video.mp4: it is 30 MB, larger than the 10 MB limit per file']);
    expect(cdn.requests).not.toContain('/attachments/1/4/video.mp4');
  });

  it('stops reading a file that is larger than it was said to be', async () => {
    let written = 0;
    let stopped = false;
    cdn.route('/attachments/1/5/liar.txt', (_req, res) => {
      // No Content-Length: the body streams on, far past the 1 KB Discord reported.
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.on('close', () => { stopped = true; });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = () => {
        while (!stopped && written < 256 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const intake = await fetchAttachments([ref('liar.txt', cdn.url('/attachments/1/5/liar.txt'), 1024)], options({ limits: limits({ maxFileBytes: 1024 * 1024 }) }));
    expect(intake.files).toEqual([]);
    expect(intake.refused.map(refusalText)).toEqual(['liar.txt: it is larger than the 1 MB limit per file (more than 1 MB arrived)']);
    // The server was cut off long before it could send all it wanted to.
    expect(written).toBeLessThan(256 * 1024 * 1024);
  });

  it('refuses a declared Content-Length past the limit before reading the body', async () => {
    cdn.route('/attachments/1/6/big.csv', (_req, res) => {
      res.writeHead(200, { 'content-length': 3 * 1024 * 1024 });
      res.end(Buffer.alloc(3 * 1024 * 1024, 0x61));
    });
    const intake = await fetchAttachments([ref('big.csv', cdn.url('/attachments/1/6/big.csv'), 10)], options({ limits: limits({ maxFileBytes: 1024 * 1024 }) }));
    expect(intake.refused.map(refusalText)).toEqual(['big.csv: it is 3 MB, larger than the 1 MB limit per file']);
  });

  it('refuses the files past the count by name, and takes the rest', async () => {
    const refs = ['a.txt', 'b.txt', 'c.txt', 'd.txt'].map((name) => served(name, Buffer.from(`file ${name}`)));
    const intake = await fetchAttachments(refs, options({ limits: limits({ maxFiles: 3 }) }));
    expect(intake.files.map((f) => f.name)).toEqual(['a.txt', 'b.txt', 'c.txt']);
    expect(intake.refused.map(refusalText)).toEqual(['d.txt: one file too many: Cairn takes 3 per message']);
    expect(cdn.requests.some((p) => p.endsWith('/d.txt'))).toBe(false);
  });

  it('counts the total of one message', async () => {
    const kb600 = Buffer.alloc(600 * 1024, 0x62);
    const intake = await fetchAttachments([served('one.txt', kb600), served('two.txt', kb600)], options({ limits: limits({ maxTotalBytes: 1024 * 1024 }) }));
    expect(intake.files.map((f) => f.name)).toEqual(['one.txt']);
    expect(intake.refused.map(refusalText)).toEqual(['two.txt: it is 600 KB, larger than the 424 KB left of the 1 MB limit per message']);
  });
});

describe('names', () => {
  it('sanitises names and keeps them unique within the message', async () => {
    const text = Buffer.from('x');
    const intake = await fetchAttachments(
      [served('../../etc/passwd', text), served('CON.txt', text), served('a\u0000b.csv', text), served('data.csv', text), served('DATA.csv', text)],
      options({ limits: limits({ maxFiles: 10 }) }),
    );
    expect(intake.files.map((f) => f.name)).toEqual(['passwd', '_CON.txt', 'ab.csv', 'data.csv', 'DATA (2).csv']);
  });
});
