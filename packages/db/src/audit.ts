import type { SqlConnection } from './connect.js';
import { SQL_NOW_UTC } from './sql-time.js';

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
    private readonly db: Pick<SqlConnection, 'query'>,
    private readonly logger: { error(obj: object, msg: string): void },
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    try {
      // One INSERT in SQL: every sign-in, consent and tool write records one, and Prisma would cost several
      // times more per row on the embedded database.
      await this.db.query(
        `INSERT INTO audit_event (at, actor_type, actor_id, action, outcome, target_type, target_id, client_id, ip, details)
         VALUES (${SQL_NOW_UTC}, $1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)`,
        [
          entry.actorType ?? (entry.actorId ? 'user' : 'client'),
          entry.actorId ?? null,
          entry.action,
          entry.outcome ?? 'success',
          entry.targetType ?? null,
          entry.targetId ?? null,
          entry.clientId ?? null,
          entry.ip ?? null,
          entry.details === undefined ? null : JSON.stringify(entry.details),
        ],
      );
    } catch (err) {
      this.logger.error({ err, action: entry.action }, 'audit write failed');
    }
  }
}
