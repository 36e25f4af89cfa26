/**
 * Connections to the Redis that CAIRN_REDIS_URL names. BullMQ's workers block on Redis and need
 * `maxRetriesPerRequest: null` (BullMQ docs, "Connections"); a subscriber needs a connection of
 * its own, as Redis allows nothing else on one that subscribed.
 */
import { Redis } from 'ioredis';

export type { Redis } from 'ioredis';

/** A connection named for `CLIENT LIST` (which process, which job), retrying while Redis is away. */
export function connectRedis(url: string, name: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, connectionName: `cairn-${name}`, enableOfflineQueue: true });
}

/** Closes a connection, waiting for replies to commands sent (QUIT), or dropping it when Redis is gone. */
export async function closeRedis(connection: Redis): Promise<void> {
  if (connection.status === 'end') return;
  await connection.quit().catch(() => {
    connection.disconnect();
  });
}
