import { randomBytes } from 'node:crypto';

/** Discord's epoch (2015-01-01T00:00:00Z); ids made from it decode to real timestamps. */
const DISCORD_EPOCH = 1_420_070_400_000n;

/**
 * Time-based snowflakes (timestamp << 22 | worker << 17 | increment), strictly increasing.
 * They must look real: @discordjs/rest buckets routes by the 17–19 digit id pattern and
 * discord.js derives createdTimestamp from them.
 */
export class Snowflakes {
  #lastMs = 0n;
  #increment = 0n;

  next(): string {
    let ms = BigInt(Date.now()) - DISCORD_EPOCH;
    if (ms < this.#lastMs) ms = this.#lastMs;
    if (ms === this.#lastMs) {
      this.#increment += 1n;
      // 12 bits of increment per millisecond; borrow the next millisecond when they run out.
      if (this.#increment > 0xfffn) {
        ms += 1n;
        this.#increment = 0n;
      }
    } else {
      this.#increment = 0n;
    }
    this.#lastMs = ms;
    return ((ms << 22n) | (1n << 17n) | this.#increment).toString();
  }
}

/** The creation time (ms since 1970) encoded in a snowflake. */
export function snowflakeTime(id: string): number {
  return Number((BigInt(id) >> 22n) + DISCORD_EPOCH);
}

/** A bot token shaped like Discord's: base64(user id).timestamp.hmac. */
export function botToken(botUserId: string): string {
  const head = Buffer.from(botUserId).toString('base64url');
  return `${head}.${randomBytes(4).toString('base64url')}.${randomBytes(27).toString('base64url')}`;
}

/** Interaction tokens are long opaque url-safe strings. */
export function interactionToken(): string {
  return `aW50ZXJhY3Rpb24${randomBytes(96).toString('base64url')}`;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
