import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ToolRegistry } from '../../src/tools/registry.js';
import type { ToolOutcome } from '../../src/tools/types.js';
import { systemTransport } from '../../src/tools/web/fetch.js';
import { httpTools, httpToolsWithTransport, type HttpToolOptions } from '../../src/tools/web/http.js';
import { blockedReason, isAllowedHost, isLoopbackName, normaliseAllowedDomains, urlHost } from '../../src/tools/web/ssrf.js';
import { fakeTransport, redirect, reply, startFakeWebServer, type FakeWebServer, type RecordingTransport } from '../fakes/web-server.js';
import { toolCall, toolContext } from './helpers.js';

describe('blockedReason', () => {
  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['127.255.0.9', 'a loopback address'],
    ['::1', 'a loopback address'],
    ['[::1]', 'a loopback address'],
    ['0.0.0.0', 'an unspecified ("this host", 0.0.0.0/8) address'],
    ['0.1.2.3', 'an unspecified ("this host", 0.0.0.0/8) address'],
    ['::', 'an unspecified address'],
    ['10.0.0.5', 'a private address'],
    ['172.16.0.1', 'a private address'],
    ['172.31.255.255', 'a private address'],
    ['192.168.1.1', 'a private address'],
    ['100.64.0.1', 'a carrier-grade NAT (100.64.0.0/10) address'],
    ['100.100.100.200', 'a carrier-grade NAT (100.64.0.0/10) address'],
    ['169.254.169.254', 'a link-local address (the cloud metadata endpoint)'],
    ['169.254.1.1', 'a link-local address'],
    ['168.63.129.16', 'a cloud platform address (the Azure WireServer)'],
    ['fe80::1', 'a link-local address'],
    ['fe80::1%eth0', 'a link-local address'],
    ['febf::1', 'a link-local address'],
    ['fc00::1', 'a unique-local (private) address'],
    ['fd00:ec2::254', 'a unique-local (private) address'],
    ['fec0::1', 'a site-local (private) address'],
    ['224.0.0.1', 'a multicast address'],
    ['239.255.255.250', 'a multicast address'],
    ['ff02::1', 'a multicast address'],
    ['255.255.255.255', 'a broadcast address'],
    ['240.0.0.1', 'a reserved address'],
    ['192.0.0.192', 'a reserved address'],
    ['198.18.0.1', 'a reserved address'],
    ['::ffff:127.0.0.1', 'an IPv4-mapped form of 127.0.0.1, a loopback address'],
    ['::ffff:7f00:1', 'an IPv4-mapped form of 127.0.0.1, a loopback address'],
    ['::ffff:a9fe:a9fe', 'an IPv4-mapped form of 169.254.169.254, a link-local address (the cloud metadata endpoint)'],
    ['::ffff:0:a00:1', 'an IPv4-translated form of 10.0.0.1, a private address'],
    ['64:ff9b::7f00:1', 'a NAT64 form of 127.0.0.1, a loopback address'],
    ['2002:c0a8:101::1', 'a 6to4 form of 192.168.1.1, a private address'],
    ['::7f00:1', 'an IPv4-compatible (deprecated) address'],
    ['64:ff9b:1::1', 'a local-use NAT64 address'],
    ['100::1', 'a reserved address (outside global unicast 2000::/3)'],
    ['4000::1', 'a reserved address (outside global unicast 2000::/3)'],
  ])('refuses %s as %s', (address, reason) => {
    expect(blockedReason(address)).toBe(reason);
  });

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '169.253.255.255',
    // Documentation ranges: routed in some networks (this project's registry is in 203.0.113.0/24).
    '192.0.2.10',
    '198.51.100.7',
    '203.0.113.5',
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '::ffff:93.184.216.34',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('allows the public address %s', (address) => {
    expect(blockedReason(address)).toBeNull();
  });

  it.each(['example.com', '', '2130706433', '0x7f.0.0.1', '127.1', '1.2.3.4.5', '[127.0.0.1'])('refuses %j, which is not canonical IP text', (text) => {
    expect(blockedReason(text)).toBe('not an IP address');
  });
});

describe('URL host normalisation then classification', () => {
  it.each([
    ['http://2130706433/', '127.0.0.1'],
    ['http://0x7f.0.0.1/', '127.0.0.1'],
    ['http://0177.0.0.1/', '127.0.0.1'],
    ['http://127.1/', '127.0.0.1'],
    ['http://0x7f000001/', '127.0.0.1'],
    ['http://%31%32%37.0.0.1/', '127.0.0.1'],
    ['http://0/', '0.0.0.0'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['http://[0:0:0:0:0:0:0:1]/', '::1'],
    ['http://169.254.169.254./', '169.254.169.254'],
    ['http://0xa9.0xfe.0xa9.0xfe/', '169.254.169.254'],
  ])('%s is host %s, which is blocked', (url, host) => {
    expect(urlHost(new URL(url))).toBe(host);
    expect(blockedReason(urlHost(new URL(url)))).not.toBeNull();
  });

  it('keeps names as names (without the root dot)', () => {
    expect(urlHost(new URL('http://Example.COM./x'))).toBe('example.com');
    expect(urlHost(new URL('http://127.0.0.1.nip.io/'))).toBe('127.0.0.1.nip.io');
  });

  it('knows localhost names', () => {
    expect(isLoopbackName('localhost')).toBe(true);
    expect(isLoopbackName('api.LOCALHOST')).toBe(true);
    expect(isLoopbackName('localhost.example.com')).toBe(false);
  });
});

describe('allowed domains', () => {
  it('normalises entries to ASCII host names', () => {
    expect(normaliseAllowedDomains([' Example.COM ', '*.docs.rs', '.github.com.', 'bücher.de', '', 'example.com', '2001:DB8::1'])).toEqual([
      'example.com',
      'docs.rs',
      'github.com',
      'xn--bcher-kva.de',
      '2001:db8::1',
    ]);
  });

  it.each(['example.com/path', 'example.com:8080', 'user@example.com', 'https://example.com', 'exa mple.com', 'example.com?q'])(
    'rejects %j, which is more than a host',
    (entry) => {
      expect(() => normaliseAllowedDomains([entry])).toThrow(/invalid allowed domain/);
    },
  );

  it('matches a domain and its subdomains only', () => {
    const allowed = ['example.com', '93.184.216.34'];
    expect(isAllowedHost('example.com', allowed)).toBe(true);
    expect(isAllowedHost('api.Example.com', allowed)).toBe(true);
    expect(isAllowedHost('notexample.com', allowed)).toBe(false);
    expect(isAllowedHost('example.com.evil.net', allowed)).toBe(false);
    expect(isAllowedHost('93.184.216.34', allowed)).toBe(true);
    expect(isAllowedHost('1.93.184.216.34', allowed)).toBe(false);
    expect(isAllowedHost('anything.net', [])).toBe(true);
  });
});

describe('SSRF attempts through http_get', () => {
  let server: FakeWebServer;
  let transport: RecordingTransport;
  let registry: ToolRegistry;

  beforeAll(async () => {
    server = await startFakeWebServer();
    transport = fakeTransport(server);
    registry = new ToolRegistry(httpToolsWithTransport({}, transport));
    server.route('/page', reply(200, { 'content-type': 'text/plain' }, 'public page'));
    server.route('/to-loopback', redirect(`http://127.0.0.1:${server.port}/secret`));
    server.route('/to-v6-loopback', redirect('http://[::1]/'));
    server.route('/to-metadata', redirect('http://169.254.169.254/latest/meta-data/'));
    server.route('/to-private-name', redirect('http://private.test/admin'));
    server.route('/to-file', redirect('file:///etc/passwd'));
  });
  afterAll(async () => {
    await server.close();
  });
  afterEach(() => {
    server.requests.length = 0;
    transport.dialed.length = 0;
  });

  function get(url: string, tools = registry): Promise<ToolOutcome> {
    return tools.run(toolCall('http_get', { url }), toolContext('/nonexistent-workspace'));
  }

  it('fetches a permitted address', async () => {
    expect((await get('http://example.test/page')).content).toMatch(/^HTTP 200 OK\n[\s\S]*\n\npublic page$/);
    expect(transport.dialed).toEqual(['93.184.216.34:80']);
  });

  const loopback = '127.0.0.1 is a loopback address (http_get only reaches public addresses).';
  it.each([
    ['http://127.0.0.1:PORT/', `Refused: ${loopback}`],
    ['http://localhost:PORT/', 'Refused: localhost is a loopback name (http_get only reaches public addresses).'],
    ['http://[::1]:PORT/', 'Refused: ::1 is a loopback address'],
    ['http://2130706433:PORT/', `Refused: ${loopback}`],
    ['http://0x7f.0.0.1:PORT/', `Refused: ${loopback}`],
    ['http://0177.0.0.1:PORT/', `Refused: ${loopback}`],
    ['http://127.1:PORT/', `Refused: ${loopback}`],
    ['http://0.0.0.0:PORT/', 'Refused: 0.0.0.0 is an unspecified'],
    ['http://0:PORT/', 'Refused: 0.0.0.0 is an unspecified'],
    ['http://[::]:PORT/', 'Refused: :: is an unspecified address'],
    ['http://[::ffff:127.0.0.1]:PORT/', 'Refused: ::ffff:7f00:1 is an IPv4-mapped form of 127.0.0.1, a loopback address'],
    ['http://169.254.169.254/latest/meta-data/', 'Refused: 169.254.169.254 is a link-local address (the cloud metadata endpoint)'],
    ['http://10.1.2.3/', 'Refused: 10.1.2.3 is a private address'],
    ['http://172.16.0.1/', 'Refused: 172.16.0.1 is a private address'],
    ['http://192.168.1.1/', 'Refused: 192.168.1.1 is a private address'],
    ['http://100.64.0.1/', 'Refused: 100.64.0.1 is a carrier-grade NAT'],
    ['http://[fd12::1]/', 'Refused: fd12::1 is a unique-local (private) address'],
    ['http://[fe80::1]/', 'Refused: fe80::1 is a link-local address'],
    ['http://224.0.0.1/', 'Refused: 224.0.0.1 is a multicast address'],
    ['http://[ff02::1]/', 'Refused: ff02::1 is a multicast address'],
    ['http://255.255.255.255/', 'Refused: 255.255.255.255 is a broadcast address'],
    ['http://private.test/', 'Refused: private.test resolves to 10.0.0.5, a private address (http_get only reaches public addresses).'],
    ['http://mixed.test/', 'Refused: mixed.test resolves to 10.0.0.5, a private address'],
    ['http://metadata.test/', 'Refused: metadata.test resolves to 169.254.169.254, a link-local address (the cloud metadata endpoint)'],
    ['http://mapped.test/', 'Refused: mapped.test resolves to ::ffff:127.0.0.1, an IPv4-mapped form of 127.0.0.1, a loopback address'],
    ['file:///etc/passwd', 'Refused: file: URLs are not supported (only http and https).'],
    ['ftp://example.test/', 'Refused: ftp: URLs are not supported'],
    ['gopher://example.test:70/_GET', 'Refused: gopher: URLs are not supported'],
  ])('refuses %s before connecting', async (template, message) => {
    const outcome = await get(template.replace('PORT', String(server.port)));
    expect(outcome.ok).toBe(false);
    expect(outcome.error?.kind).toBe('tool_error');
    expect(outcome.content).toContain(`http_get failed: ${message}`);
    expect(transport.dialed).toEqual([]);
    expect(server.requests).toEqual([]);
  });

  it.each([
    ['/to-loopback', 'Refused: redirect to http://127.0.0.1:PORT/secret — a loopback address.'],
    ['/to-v6-loopback', 'Refused: redirect to http://[::1]/ — a loopback address.'],
    ['/to-metadata', 'Refused: redirect to http://169.254.169.254/latest/meta-data/ — a link-local address (the cloud metadata endpoint).'],
    ['/to-private-name', 'Refused: redirect to http://private.test/admin — private.test resolves to 10.0.0.5, a private address.'],
    ['/to-file', 'Refused: redirect to file:///etc/passwd — file: URLs are not supported (only http and https).'],
  ])('re-checks the redirect hop from %s', async (path, message) => {
    const outcome = await get(`http://example.test${path}`);
    expect(outcome.content).toBe(`Error: http_get failed: ${message.replace('PORT', String(server.port))}`);
    expect(server.requests.map((r) => r.path)).toEqual([path]);
    expect(transport.dialed).toEqual(['93.184.216.34:80']);
  });

  it('uses the real resolver and no dial override in production', async () => {
    const production = new ToolRegistry(httpTools());
    for (const url of [`http://127.0.0.1:${server.port}/page`, `http://localhost:${server.port}/page`, `http://[::ffff:127.0.0.1]:${server.port}/page`]) {
      const outcome = await get(url, production);
      expect(outcome.content).toMatch(/^Error: http_get failed: Refused: /);
    }
    expect(server.requests).toEqual([]);
    const addresses = await systemTransport.resolve('localhost');
    expect(addresses.length).toBeGreaterThan(0);
    for (const address of addresses) expect(blockedReason(address)).toBe('a loopback address');
  });

  it('cannot be handed a transport through options', () => {
    expect(() => httpTools({ transport } as Partial<HttpToolOptions>)).toThrow(/Unrecognized key/);
  });
});

