import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract, type IRateLimiterOptions } from 'rate-limiter-flexible';

/**
 * Rate limiters in memory by default and in Redis when one is configured, so limits are global
 * across replicas. `insuranceLimiter` keeps them working (per process) when Redis is down.
 */
export function createLimiter(options: IRateLimiterOptions & { keyPrefix: string }, redis?: unknown): RateLimiterAbstract {
  if (!redis) return new RateLimiterMemory(options);
  return new RateLimiterRedis({
    ...options,
    storeClient: redis,
    useRedisPackage: false,
    insuranceLimiter: new RateLimiterMemory(options),
  });
}

/** Seconds to wait, from a rate-limiter-flexible rejection; rethrows store errors. */
export function retryAfterSeconds(rejection: unknown): number {
  if (rejection instanceof Error) throw rejection;
  const ms = (rejection as { msBeforeNext?: number }).msBeforeNext ?? 1000;
  return Math.max(1, Math.ceil(ms / 1000));
}
