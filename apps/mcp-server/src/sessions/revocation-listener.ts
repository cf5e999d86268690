import { Redis } from 'ioredis';
import { LiveSubscription, parseRevocationEvent, REVOCATION_ACK_CHANNEL, REVOCATION_CHANNEL, type Logger, type RevocationEvent } from '@mcp-gw/shared';
import type { GrantStatus } from '../auth/grant-status.js';
/** What a revocation closes at once: live sessions and streams, by grant or by client. */
export interface LiveConnections {
  closeByGrant(grantId: string): Promise<number>;
  closeByClient(clientId: string): Promise<number>;
}

/**
 * Applies a revocation notice: the grants it names are no longer known to stand, and the live sessions
 * it names (its grants, or every session of its client) are closed.
 */
export async function applyRevocation(sessions: LiveConnections, grants: GrantStatus, event: RevocationEvent): Promise<number> {
  // Synchronously, before the first await: a caller may confirm the notice as soon as this returns.
  grants.revoked(event);
  let closed = 0;
  for (const grantId of event.grantIds) closed += await sessions.closeByGrant(grantId);
  if (event.type === 'client' && event.clientId) closed += await sessions.closeByClient(event.clientId);
  return closed;
}

/**
 * Listens on the authorization server's revocation channel (Redis pub/sub) so live sessions end at
 * once. While subscribed it is a live feed for `grants` (which may then remember standing grants);
 * from the moment the connection drops until it is subscribed again, it is not, and every request
 * asks the database. The periodic sweep closes sessions whose notice was lost.
 *
 * A notice carrying an id is confirmed on the acknowledgement channel (through `publisher`, a
 * connection that is not subscribed) as soon as no remembered answer trusts what it names; the
 * authorization server waits for every subscribed replica's confirmation before it answers
 * "revoked", so the next request anywhere is refused. Sessions close after that, asynchronously.
 */
export async function startRevocationListener(
  redisUrl: string,
  sessions: LiveConnections,
  grants: GrantStatus,
  logger: Logger,
  publisher: { publish(channel: string, message: string): Promise<unknown> },
): Promise<() => Promise<void>> {
  const subscriber = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: null, autoResubscribe: false });
  const subscription = new LiveSubscription(subscriber, REVOCATION_CHANNEL, (message) => apply(message), {
    logger,
    name: 'revocation listener',
    onLiveChange: (live) => (live ? grants.feedUp() : grants.feedDown()),
  });
  function apply(message: string): void {
    const event = parseRevocationEvent(message);
    if (!event) {
      logger.warn('revocation listener: ignoring a malformed notice');
      return;
    }
    const closing = applyRevocation(sessions, grants, event);
    if (event.id) publisher.publish(REVOCATION_ACK_CHANNEL, event.id).catch((err) => logger.warn({ err }, 'revocation listener: confirmation not sent'));
    closing
      .then((n) => n && logger.info({ type: event.type, client_id: event.clientId, sessions: n }, 'closed sessions after a revocation notice'))
      .catch((err) => logger.error({ err }, 'revocation listener: closing sessions failed'));
  }
  await subscription.connect();
  return () => subscription.close();
}
