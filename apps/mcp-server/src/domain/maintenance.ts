import type { PrismaClient } from '@mcp-gw/db';
import type { Logger } from '@mcp-gw/shared';

/** Deletes expired idempotency records and pending confirmations (both only matter until they expire). */
export async function purgeExpired(prisma: PrismaClient, now = new Date()): Promise<{ idempotency: number; confirmations: number }> {
  const idempotency = await prisma.idempotencyRecord.deleteMany({ where: { expiresAt: { lt: now } } });
  const confirmations = await prisma.pendingConfirmation.deleteMany({ where: { expiresAt: { lt: now } } });
  return { idempotency: idempotency.count, confirmations: confirmations.count };
}

/** Purges expired records every 10 minutes (any replica may do it); returns the stop function. */
export function startMaintenance(prisma: PrismaClient, logger: Logger): () => void {
  const timer = setInterval(() => {
    void purgeExpired(prisma)
      .then((n) => (n.idempotency || n.confirmations) && logger.debug(n, 'purged expired records'))
      .catch((err) => logger.warn({ err }, 'purging expired records failed'));
  }, 10 * 60_000);
  timer.unref();
  return () => clearInterval(timer);
}
