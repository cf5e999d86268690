import type { Prisma, PrismaClient } from '@mcp-gw/db';
import type { Logger } from '@mcp-gw/shared';

export interface AuditEntry {
  actorType: 'user' | 'client' | 'system' | 'admin' | 'anonymous';
  actorId?: string | null;
  action: string;
  outcome?: 'success' | 'denied' | 'error';
  targetType?: string;
  targetId?: string;
  clientId?: string | null;
  ip?: string | null;
  details?: Record<string, unknown>;
}

/** The audit trail: who did what to what, when. Never blocks or fails the request it describes. */
export class AuditLog {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly logger: Logger,
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    try {
      await this.prisma.auditEvent.create({
        data: {
          actorType: entry.actorType,
          actorId: entry.actorId ?? null,
          action: entry.action,
          outcome: entry.outcome ?? 'success',
          targetType: entry.targetType ?? null,
          targetId: entry.targetId ?? null,
          clientId: entry.clientId ?? null,
          ip: entry.ip ?? null,
          details: (entry.details ?? undefined) as Prisma.InputJsonValue | undefined,
        },
      });
    } catch (err) {
      this.logger.error({ err, action: entry.action }, 'audit write failed');
    }
  }
}
