import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';
import type { Logger } from '@mcp-gw/shared';

export type ToolClass = 'read' | 'write';

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number; limit: number };

/**
 * Per client and user, per tool class, fixed one-minute windows. In memory by default; in Redis (shared
 * by every replica) when a client is given, with an in-memory limiter as insurance while Redis is down.
 */
export class ToolRateLimiter {
  private readonly limiters: Record<ToolClass, RateLimiterAbstract>;

  constructor(
    private readonly limits: Record<ToolClass, number>,
    private readonly logger: Logger,
    redis?: Redis,
  ) {
    const make = (cls: ToolClass): RateLimiterAbstract => {
      const base = { points: limits[cls], duration: 60, keyPrefix: `mcp_rl_${cls}` };
      if (!redis) return new RateLimiterMemory(base);
      return new RateLimiterRedis({ ...base, storeClient: redis, insuranceLimiter: new RateLimiterMemory(base) });
    };
    this.limiters = { read: make('read'), write: make('write') };
  }

  async consume(cls: ToolClass, clientId: string, sub: string): Promise<RateDecision> {
    try {
      await this.limiters[cls].consume(`${clientId}|${sub}`);
      return { allowed: true };
    } catch (res) {
      if (res instanceof RateLimiterRes) {
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)), limit: this.limits[cls] };
      }
      // The store failed and no insurance answered: serve rather than fail every call.
      this.logger.warn({ err: res }, 'rate limiter unavailable; allowing the call');
      return { allowed: true };
    }
  }
}
