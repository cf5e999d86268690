import type { Redis } from 'ioredis';
import type { Database } from '@mcp-gw/db';
import type { Logger } from '@mcp-gw/shared';
import type { McpServerConfig } from './config.js';
import { TicketRepository } from './domain/tickets.js';
import { AuditLog } from './observability/audit.js';
import type { Metrics } from './observability/metrics.js';
import { ConfirmationStore } from './tools/confirmations.js';
import { IdempotencyStore } from './tools/idempotency.js';
import { ToolRateLimiter } from './tools/rate-limit.js';
import type { ToolServices } from './tools/registry.js';

/** What every MCP session's tools, resources and prompts share within one app instance. */
export function createToolServices(options: { config: McpServerConfig; db: Database; logger: Logger; metrics: Metrics; redis?: Redis }): ToolServices {
  const { config, db, logger, metrics, redis } = options;
  return {
    config,
    prisma: db.prisma,
    tickets: new TicketRepository(db.prisma),
    idempotency: new IdempotencyStore(db.prisma, config.IDEMPOTENCY_TTL_HOURS * 3600_000),
    confirmations: new ConfirmationStore(db.prisma, config.CONFIRMATION_TTL_SECONDS * 1000),
    rateLimiter: new ToolRateLimiter({ read: config.RATE_LIMIT_READ_PER_MINUTE, write: config.RATE_LIMIT_WRITE_PER_MINUTE }, logger, redis),
    audit: new AuditLog(db, logger),
    metrics,
    logger,
  };
}
