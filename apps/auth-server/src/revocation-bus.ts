import type { Logger } from '@mcp-gw/shared';
import { REVOCATION_CHANNEL, type RevocationEvent } from '@mcp-gw/shared';

export interface RevocationPublisher {
  publish(event: RevocationEvent): Promise<void>;
  /** Resource servers in this same process (the embedded launcher) hear revocations directly. */
  onLocal(listener: (event: RevocationEvent) => void | Promise<void>): void;
}

/**
 * Tells resource servers at once that a client or grant was revoked (Redis pub/sub, and listeners in
 * this process), so they close live sessions without waiting for their sweep. The database stays the
 * truth: without Redis, or if a message is lost, the next request is refused all the same.
 */
export function createRevocationPublisher(redis: { publish(channel: string, message: string): Promise<unknown> } | undefined, logger: Logger): RevocationPublisher {
  const listeners: ((event: RevocationEvent) => void | Promise<void>)[] = [];
  return {
    async publish(event) {
      for (const listener of listeners) {
        await Promise.resolve(listener(event)).catch((err) => logger.warn({ err }, 'local revocation listener failed'));
      }
      if (!redis) return;
      try {
        await redis.publish(REVOCATION_CHANNEL, JSON.stringify(event));
      } catch (err) {
        logger.warn({ err }, 'revocation notice not published (resource servers will see it on the next request)');
      }
    },
    onLocal(listener) {
      listeners.push(listener);
    },
  };
}
