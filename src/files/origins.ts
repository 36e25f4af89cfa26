/**
 * Where attachments may be downloaded from. Discord serves attachments from its CDN
 * (https://discord.com/developers/docs/reference#image-formatting: cdn.discordapp.com, and
 * media.discordapp.net for proxied media); anything else in an attachment URL is refused unread.
 */

export const DISCORD_CDN_ORIGINS: readonly string[] = ['https://cdn.discordapp.com', 'https://media.discordapp.net'];

/**
 * The origin of `raw` if it is a bare http(s) origin (no credentials, path, query or fragment),
 * else a sentence saying what is wrong with it.
 */
export function parseOrigin(raw: string): { origin: string } | { problem: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: 'is not a URL (expected e.g. https://cdn.example.com)' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { problem: 'must be an http:// or https:// origin' };
  if (url.username !== '' || url.password !== '') return { problem: 'must not carry a user name or password' };
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    return { problem: 'must be an origin only (scheme, host and port, no path, query or fragment)' };
  }
  return { origin: url.origin };
}

/**
 * Whether `url` may be fetched: its origin is one of `allowed`. https everywhere, http only where
 * an http origin was configured on purpose (a local test CDN, a proxy on the same host).
 */
export function isAllowedAttachmentUrl(url: string, allowed: readonly string[]): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.username !== '' || parsed.password !== '') return false;
  return allowed.some((origin) => {
    const normalised = parseOrigin(origin);
    return 'origin' in normalised && normalised.origin === parsed.origin;
  });
}
