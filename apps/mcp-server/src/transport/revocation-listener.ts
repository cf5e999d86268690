import { Redis } from 'ioredis';
import { REVOCATION_CHANNEL, type Logger, type RevocationEvent } from '@mcp-gw/shared';
import type { SessionManager } from './session-manager.js';

/** Validates a revocation notice from the wire; undefined when it is not one. */
export function parseRevocationEvent(message: string): RevocationEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  const v = value as Partial<RevocationEvent> | null;
  if (!v || (v.type !== 'client' && v.type !== 'grant')) return undefined;
  if (!Array.isArray(v.grantIds) || !v.grantIds.every((g) => typeof g === 'string')) return undefined;
  if (v.clientId !== undefined && typeof v.clientId !== 'string') return undefined;
  return { type: v.type, clientId: v.clientId, grantIds: v.grantIds };
}

/** Closes the live sessions a revocation notice names (its grants, or every session of its client). */
export async function applyRevocation(sessions: SessionManager, event: RevocationEvent): Promise<number> {
  let closed = 0;
  for (const grantId of event.grantIds) closed += await sessions.closeByGrant(grantId);
  if (event.type === 'client' && event.clientId) closed += await sessions.closeByClient(event.clientId);
  return closed;
}

/**
 * Listens on the authorization server's revocation channel (Redis pub/sub) so live sessions end at
 * once. Best effort: the database check on every request and the periodic sweep remain the guarantee.
 */
export async function startRevocationListener(redisUrl: string, sessions: SessionManager, logger: Logger): Promise<() => Promise<void>> {
  const subscriber = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: null });
  subscriber.on('error', (err) => logger.warn({ err }, 'revocation listener: redis error'));
  subscriber.on('message', (channel, message) => {
    if (channel !== REVOCATION_CHANNEL) return;
    const event = parseRevocationEvent(message);
    if (!event) {
      logger.warn('revocation listener: ignoring a malformed notice');
      return;
    }
    void applyRevocation(sessions, event)
      .then((n) => n && logger.info({ type: event.type, client_id: event.clientId, sessions: n }, 'closed sessions after a revocation notice'))
      .catch((err) => logger.error({ err }, 'revocation listener: closing sessions failed'));
  });
  try {
    await subscriber.connect();
    await subscriber.subscribe(REVOCATION_CHANNEL);
  } catch (err) {
    logger.warn({ err }, 'revocation listener: cannot subscribe now; will retry with the connection');
  }
  return async () => {
    await subscriber.quit().catch(() => subscriber.disconnect());
  };
}
