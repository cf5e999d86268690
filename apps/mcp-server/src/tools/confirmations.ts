import crypto from 'node:crypto';
import type { PrismaClient } from '@mcp-gw/db';
import type { Principal } from '../auth/principal.js';

function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token).digest('base64url');
}

/**
 * Pending confirmations of destructive actions, for clients that cannot elicit: the first call gets a
 * one-time token bound to the user and client; only a second call carrying it (and confirm: true) acts.
 * The database keeps the token's hash only.
 */
export class ConfirmationStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly ttlMs: number,
  ) {}

  async create(principal: Principal, action: string, args: Record<string, unknown>): Promise<{ token: string; expiresAt: Date }> {
    const token = `cfm_${crypto.randomBytes(24).toString('base64url')}`;
    const expiresAt = new Date(Date.now() + this.ttlMs);
    await this.prisma.pendingConfirmation.deleteMany({ where: { expiresAt: { lte: new Date() } } });
    await this.prisma.pendingConfirmation.create({
      data: { token: hashToken(token), sub: principal.sub, clientId: principal.clientId, action, args: args as never, expiresAt },
    });
    return { token, expiresAt };
  }

  /**
   * Consumes a token: returns its stored arguments when it exists, is unexpired, and belongs to this
   * user, client and action; deletes it so it cannot be used twice.
   */
  async consume(principal: Principal, action: string, token: string): Promise<Record<string, unknown> | undefined> {
    const key = hashToken(token);
    const row = await this.prisma.pendingConfirmation.findUnique({ where: { token: key } });
    if (!row || row.sub !== principal.sub || row.clientId !== principal.clientId || row.action !== action) return undefined;
    const { count } = await this.prisma.pendingConfirmation.deleteMany({
      where: { token: key, sub: principal.sub, clientId: principal.clientId, expiresAt: { gt: new Date() } },
    });
    return count === 1 ? (row.args as Record<string, unknown>) : undefined;
  }
}
