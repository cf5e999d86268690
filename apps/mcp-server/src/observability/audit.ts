import type { PrismaClient } from '@mcp-gw/db';
import type { Logger } from '@mcp-gw/shared';

export interface AuditEntry {
  action: string;
  outcome: 'success' | 'denied' | 'error';
  actorId?: string;
  clientId?: string;
  targetType?: string;
  targetId?: string;
  ip?: string;
  details?: Record<string, unknown>;
}

/**
 * Writes AuditEvent rows: every write and every denied call. A failed audit write is logged loudly but
 * does not fail the user's request that already happened.
 */
export class AuditLog {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly logger: Logger,
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    try {
      await this.prisma.auditEvent.create({
        data: {
          actorType: entry.actorId ? 'user' : 'client',
          actorId: entry.actorId ?? null,
          action: entry.action,
          outcome: entry.outcome,
          targetType: entry.targetType ?? null,
          targetId: entry.targetId ?? null,
          clientId: entry.clientId ?? null,
          ip: entry.ip ?? null,
          details: (entry.details ?? undefined) as never,
        },
      });
    } catch (err) {
      this.logger.error({ err, audit: entry }, 'could not write audit event');
    }
  }
}
