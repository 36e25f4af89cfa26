import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Exposure, hostsNamedIn } from '../../src/agent/exposure.js';
import { defineTool } from '../../src/tools/define.js';
import type { ToolOutcome } from '../../src/tools/types.js';

const fetcher = defineTool({ name: 'fetch', description: 'Fetches a URL.', input: z.object({ url: z.string() }), risk: 'low', egress: 'url', untrustedOutput: true, run: () => Promise.resolve('') });
const ok: ToolOutcome = { ok: true, content: '', truncated: false, durationMs: 0 };
const call = (url: string) => JSON.stringify({ url });

describe('hosts a person names', () => {
  it('finds hosts in URLs and bare names, normalised as the http tools parse them', () => {
    expect(hostsNamedIn('Compare https://News.Test/a?x=1 with docs.test/guide (and 93.184.216.34), then mail bob@mail.example.org.')).toEqual([
      'news.test',
      'docs.test',
      '93.184.216.34',
      'mail.example.org',
    ]);
    expect(hostsNamedIn('Look at bücher.example')).toEqual(['xn--bcher-kva.example']);
  });

  it('names nothing in version numbers or plain words', () => {
    expect(hostsNamedIn('Upgrade from 1.2 to version 1.2.3 and read it.')).toEqual([]);
  });
});

describe('which requests an exposed run holds back', () => {
  const exposed = (trusted: string) => {
    const exposure = new Exposure({ userId: 'u' }, [trusted]);
    exposure.observe(fetcher, ok);
    return exposure;
  };

  it('lets through the named host and its subdomains, and a www. name covers its bare domain', () => {
    const exposure = exposed('See www.example.com');
    for (const url of ['https://example.com/', 'https://www.example.com/x', 'http://api.example.com:8080/v1']) expect(exposure.check(fetcher, call(url))).toBeNull();
    for (const url of ['https://evilexample.com/', 'https://example.com.evil.test/', 'https://evil.test/?q=example.com']) {
      expect(exposure.check(fetcher, call(url))?.host).toBe(new URL(url).hostname);
    }
  });

  it('holds back a call whose URL it cannot read, and lets through a host once it was approved', () => {
    const exposure = exposed('Nothing named here');
    expect(exposure.check(fetcher, '{"url": 42}')).toMatchObject({ host: null });
    expect(exposure.check(fetcher, call('https://evil.test/a'))).not.toBeNull();
    exposure.approved(fetcher, call('https://evil.test/a'));
    expect(exposure.check(fetcher, call('https://evil.test/b'))).toBeNull();
  });

  it('is not exposed by calls that never reached their tool', () => {
    const exposure = new Exposure({ userId: 'u' }, []);
    exposure.observe(fetcher, { ...ok, ok: false, error: { kind: 'denied', message: 'no' } });
    expect(exposure.exposed).toBe(false);
    expect(exposure.check(fetcher, call('https://evil.test/'))).toBeNull();
  });

  it('counts shared memory read by a memory tool only where the run has a channel or server', () => {
    const search = { ...fetcher, name: 'memory_search', egress: undefined, untrustedOutput: undefined };
    const alone = new Exposure({ userId: 'u' }, []);
    alone.observe(search, ok);
    expect(alone.exposed).toBe(false);
    const inChannel = new Exposure({ userId: 'u', channelId: 'c' }, []);
    inChannel.observe(search, ok);
    expect(inChannel.reasons).toEqual(['memory_search returned shared memory that other people may have written']);
  });
});
