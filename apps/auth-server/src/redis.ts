import type { Logger } from '@mcp-gw/shared';

type RedisClient = import('ioredis').Redis;
let shared: RedisClient | undefined;

/**
 * One Redis client per process when REDIS_URL is set (rate limits, revocation notices); none
 * otherwise. Commands fail fast while Redis is down instead of queueing, so callers can fall back.
 */
export async function connectRedis(url: string | undefined, logger: Logger): Promise<RedisClient | undefined> {
  if (!url) return undefined;
  if (shared) return shared;
  const { Redis } = await import('ioredis');
  shared = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, connectTimeout: 2000 });
  shared.on('error', (err) => logger.warn({ err: err.message }, 'redis error'));
  await shared.connect().catch((err) => logger.warn({ err: err.message }, 'redis unavailable at start; continuing without it'));
  return shared;
}

export async function closeRedis(): Promise<void> {
  const client = shared;
  shared = undefined;
  if (client) await client.quit().catch(() => client.disconnect());
}
