/**
 * The address policy of the HTTP tools: which IP addresses and host names a request may reach.
 * Pure functions only; the client in fetch.ts applies them to every resolved address of every hop.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** What each blocked ipaddr.js range is, phrased to follow "X is …". */
const V4_REASONS: Partial<Record<string, string>> = {
  unspecified: 'an unspecified ("this host", 0.0.0.0/8) address',
  broadcast: 'a broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT (100.64.0.0/10) address',
  private: 'a private address',
};

const V6_REASONS: Partial<Record<string, string>> = {
  unspecified: 'an unspecified address',
  loopback: 'a loopback address',
  linkLocal: 'a link-local address',
  multicast: 'a multicast address',
  uniqueLocal: 'a unique-local (private) address',
};

const v4 = (cidr: string): [ipaddr.IPv4, number] => ipaddr.IPv4.parseCIDR(cidr);
const v6 = (cidr: string): [ipaddr.IPv6, number] => ipaddr.IPv6.parseCIDR(cidr);

/**
 * ipaddr.js files the documentation ranges under "reserved" too, but they are routed in some
 * networks (this project's own package registry resolves into 203.0.113.0/24) and reach nothing
 * internal, so they stay allowed; the rest of "reserved" (192.0.0.0/24, 198.18.0.0/15,
 * 240.0.0.0/4, …) is refused.
 */
const V4_DOCUMENTATION = [v4('192.0.2.0/24'), v4('198.51.100.0/24'), v4('203.0.113.0/24')];

/** Well-known metadata endpoints that ordinary range checks would miss or mislabel. */
const V4_METADATA: [[ipaddr.IPv4, number], string][] = [
  [v4('169.254.169.254/32'), 'a link-local address (the cloud metadata endpoint)'],
  // Azure's WireServer is a public-looking address that only the VM's host answers.
  [v4('168.63.129.16/32'), 'a cloud platform address (the Azure WireServer)'],
];

/** IPv6 forms that carry an IPv4 address: the embedded address decides. */
const V6_EMBEDDING: [[ipaddr.IPv6, number], string, (parts: number[]) => [number, number]][] = [
  [v6('::ffff:0:0/96'), 'an IPv4-mapped form', (p) => [p[6] ?? 0, p[7] ?? 0]],
  [v6('::ffff:0:0:0/96'), 'an IPv4-translated form', (p) => [p[6] ?? 0, p[7] ?? 0]],
  [v6('64:ff9b::/96'), 'a NAT64 form', (p) => [p[6] ?? 0, p[7] ?? 0]],
  [v6('2002::/16'), 'a 6to4 form', (p) => [p[1] ?? 0, p[2] ?? 0]],
];

/** Private or obsolete IPv6 ranges ipaddr.js does not classify as such. */
const V6_EXTRA: [[ipaddr.IPv6, number], string][] = [
  [v6('fec0::/10'), 'a site-local (private) address'],
  [v6('64:ff9b:1::/48'), 'a local-use NAT64 address'],
  // IPv4-compatible addresses (::a.b.c.d) are deprecated; nothing public uses them.
  [v6('::/96'), 'an IPv4-compatible (deprecated) address'],
];

/** Everything public in IPv6 lives in 2000::/3; the rest is special-purpose or unassigned. */
const V6_GLOBAL_UNICAST = v6('2000::/3');

function ipv4Reason(address: ipaddr.IPv4): string | null {
  for (const [range, reason] of V4_METADATA) if (address.match(range)) return reason;
  const range = address.range();
  const known = V4_REASONS[range];
  if (known !== undefined) return known;
  if (range === 'reserved') return V4_DOCUMENTATION.some((doc) => address.match(doc)) ? null : 'a reserved address';
  return null;
}

function ipv6Reason(address: ipaddr.IPv6): string | null {
  for (const [range, form, extract] of V6_EMBEDDING) {
    if (!address.match(range)) continue;
    const [high, low] = extract(address.parts);
    const embedded = new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
    const reason = ipv4Reason(embedded);
    return reason === null ? null : `${form} of ${embedded.toString()}, ${reason}`;
  }
  const known = V6_REASONS[address.range()];
  if (known !== undefined) return known;
  for (const [range, reason] of V6_EXTRA) if (address.match(range)) return reason;
  if (!address.match(V6_GLOBAL_UNICAST)) return 'a reserved address (outside global unicast 2000::/3)';
  return null;
}

/**
 * Why `address` must not be reached, as a phrase ("a loopback address"), or null when it is a
 * public address. Takes canonical IP text as DNS and WHATWG URL parsing produce it (IPv6 may be
 * bracketed or carry a zone); anything else is refused rather than guessed at.
 */
export function blockedReason(address: string): string | null {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const family = isIP(bare);
  if (family === 0) return 'not an IP address';
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(bare);
  } catch {
    return 'not an IP address';
  }
  return parsed.kind() === 'ipv4' ? ipv4Reason(parsed as ipaddr.IPv4) : ipv6Reason(parsed as ipaddr.IPv6);
}

/** The URL's host as an address or name: brackets dropped, trailing root dot removed. */
export function urlHost(url: URL): string {
  const host = url.hostname;
  if (host.startsWith('[') && host.endsWith(']')) return host.slice(1, -1);
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/** Names that must resolve to loopback (RFC 6761), refused without asking DNS. */
export function isLoopbackName(host: string): boolean {
  const name = host.toLowerCase();
  return name === 'localhost' || name.endsWith('.localhost');
}

/**
 * Normalises allow-list entries to the ASCII host form URL parsing produces: "*.Example.com."
 * → "example.com", "bücher.de" → "xn--bcher-kva.de". Throws for entries that are not bare hosts.
 */
export function normaliseAllowedDomains(entries: readonly string[]): string[] {
  const result: string[] = [];
  for (const entry of entries) {
    const trimmed = entry.trim().replace(/^\*?\./, '');
    if (trimmed === '') continue;
    const bracketed = isIP(trimmed) === 6 ? `[${trimmed}]` : trimmed;
    const parsed = URL.canParse(`http://${bracketed}/`) ? new URL(`http://${bracketed}/`) : undefined;
    // Anything beyond a host (port, path, credentials) would be silently ignored: refuse it.
    if (parsed === undefined || parsed.port !== '' || parsed.pathname !== '/' || parsed.username !== '' || parsed.search !== '' || parsed.hash !== '') {
      throw new Error(`invalid allowed domain ${JSON.stringify(entry)}: give a bare host name such as "example.com"`);
    }
    const host = urlHost(parsed);
    if (!result.includes(host)) result.push(host);
  }
  return result;
}

/** True when `host` is allowed: an empty list allows every host; an entry covers its subdomains. */
export function isAllowedHost(host: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  const name = host.toLowerCase();
  // Addresses match only an identical entry: "1.2.3.4" has no subdomains.
  if (isIP(name) !== 0) return allowed.includes(name);
  return allowed.some((entry) => name === entry || (isIP(entry) === 0 && name.endsWith(`.${entry}`)));
}
