import { Redis } from 'ioredis';
import type { PrismaClient } from '@mcp-gw/db';
import type { Logger } from '@mcp-gw/shared';
import type { McpServerConfig } from '../config.js';
import type { McpServer } from '../mcp/sdk.js';
import type { Metrics } from '../observability/metrics.js';
import { MemoryEventStore, RedisEventStore, type EventStoreLimits } from './event-store.js';
import { SessionManager } from './session-manager.js';
import { DegradingSessionStore, RedisSessionBus, RedisSessionStore } from './session-store.js';

export interface SessionInfrastructure {
  sessions: SessionManager;
  /** The sessions' own Redis connection (also the revocation listener's publisher), when REDIS_URL is set. */
  redis: Redis | undefined;
  close(): Promise<void>;
}

/**
 * The 2025-era sessions and where they live. With REDIS_URL the session records, the replicas' bus and
 * the SSE event store are in Redis, on a connection of their own (these commands must wait for a
 * reconnect, not fail fast like the rate limiter's; commands fail at once while Redis is down, with no
 * offline queue, so the stores fall back instead of waiting); without it everything stays in this process.
 */
export function createSessionInfrastructure(options: {
  config: McpServerConfig;
  prisma: PrismaClient;
  logger: Logger;
  metrics: Metrics;
  createServer: () => McpServer;
}): SessionInfrastructure {
  const { config, logger } = options;
  const redis = config.REDIS_URL ? new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, commandTimeout: 2000, enableOfflineQueue: false }) : undefined;
  redis?.on('error', (err) => logger.warn({ err }, 'redis error (sessions)'));
  const bus = redis ? new RedisSessionBus(config.REDIS_URL!, redis, logger) : undefined;
  const eventLimits: EventStoreLimits = { maxEvents: config.SSE_REPLAY_MAX_EVENTS, ttlMs: config.SSE_REPLAY_TTL_SECONDS * 1000 };
  const sessions = new SessionManager({
    store: redis ? new DegradingSessionStore(new RedisSessionStore(redis, config.SESSION_IDLE_TIMEOUT_MS), logger) : undefined,
    bus,
    createEventStore: (id) => (redis ? new RedisEventStore(redis, id, eventLimits) : new MemoryEventStore(eventLimits)),
    prisma: options.prisma,
    logger,
    metrics: options.metrics,
    createServer: options.createServer,
    maxSessions: config.MAX_SESSIONS,
    idleTimeoutMs: config.SESSION_IDLE_TIMEOUT_MS,
    sweepIntervalMs: config.SESSION_SWEEP_INTERVAL_MS,
  });
  sessions.start();
  return {
    sessions,
    redis,
    async close() {
      await sessions.closeAll();
      await bus?.close();
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
