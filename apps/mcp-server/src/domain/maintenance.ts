import type { PrismaClient } from '@mcp-gw/db';

/** Deletes expired idempotency records and pending confirmations (both only matter until they expire). */
export async function purgeExpired(prisma: PrismaClient, now = new Date()): Promise<{ idempotency: number; confirmations: number }> {
  const idempotency = await prisma.idempotencyRecord.deleteMany({ where: { expiresAt: { lt: now } } });
  const confirmations = await prisma.pendingConfirmation.deleteMany({ where: { expiresAt: { lt: now } } });
  return { idempotency: idempotency.count, confirmations: confirmations.count };
}
