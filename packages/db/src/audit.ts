import type { Prisma, PrismaClient } from './generated/prisma/client.js';

export interface AuditEntry {
  /** Who acted; defaults to `user` when an actor id is given, else `client`. */
  actorType?: 'user' | 'client' | 'system' | 'admin' | 'anonymous';
  actorId?: string | null;
  action: string;
  outcome?: 'success' | 'denied' | 'error';
  targetType?: string;
  targetId?: string;
  clientId?: string | null;
  ip?: string | null;
  details?: Record<string, unknown>;
}

/**
 * The audit trail both apps write: who did what to what, when. A failed write is logged loudly but
 * never fails the request it describes (that already happened).
 */
export class AuditLog {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly logger: { error(obj: object, msg: string): void },
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    try {
      await this.prisma.auditEvent.create({
        data: {
          actorType: entry.actorType ?? (entry.actorId ? 'user' : 'client'),
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
