import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { LiveSubscription, REVOCATION_ACK_CHANNEL, REVOCATION_CHANNEL, type Logger, type RevocationEvent } from '@mcp-gw/shared';

/** What became of one revocation notice on Redis. */
export interface RevocationDelivery {
  /** Resource servers subscribed when it was published (Redis' own count). */
  notified: number;
  /** How many of them confirmed they stopped trusting the grants before publish() returned. */
  confirmed: number;
}

export interface RevocationPublisher {
  /**
   * Announces a revocation (already committed to the database) and, with Redis, waits until every
   * subscribed resource server confirmed it, at most the acknowledgement timeout.
   */
  publish(event: RevocationEvent): Promise<RevocationDelivery>;
  /** Resource servers in this same process (the embedded launcher) hear revocations directly. */
  onLocal(listener: (event: RevocationEvent) => void | Promise<void>): void;
  /** Stops listening for confirmations (the publishing client belongs to the caller). */
  close(): Promise<void>;
}

export interface RevocationPublisherOptions {
  /** How long publish() waits for every notified resource server to confirm; 0 does not wait. */
  ackTimeoutMs: number;
  /**
   * Tells the process that owns the embedded database, when this one reaches it through its socket
   * (the admin CLI): resolves once the owner applied the notice, which counts as one confirmation.
   */
  owner?: (event: RevocationEvent) => Promise<void>;
}

const NONE: RevocationDelivery = { notified: 0, confirmed: 0 };

/** What an administrator is told when not every notified MCP server confirmed in time; '' otherwise. */
export function unconfirmedNotice({ notified, confirmed }: RevocationDelivery): string {
  if (confirmed >= notified) return '';
  return `${notified - confirmed} of ${notified} MCP servers did not confirm in time: they refuse its tokens once they hear of it, or at the latest when their grant memory expires (GRANT_CACHE_SECONDS).`;
}
const UNHEARD = 'MCP servers that remember the grant as standing stop serving it when that memory expires (GRANT_CACHE_SECONDS), the others at once';

/**
 * Tells resource servers at once that a client or grant was revoked (Redis pub/sub, and listeners in
 * this process), so they close live sessions without waiting for their sweep. The database stays the
 * truth: without Redis, or if a message is lost, resource servers that cannot hear notices ask the
 * database on every request.
 *
 * Resource servers that do hear notices remember standing grants for a few seconds, so "refused on
 * the next request" depends on the notice reaching them before that request. Each notice carries an
 * id that they echo on the acknowledgement channel once they stopped trusting the grant, and publish()
 * returns when all of them did (Redis says how many were subscribed): an administrator's "revoked" then
 * means revoked everywhere, not "on its way".
 */
export function createRevocationPublisher(redis: Redis | undefined, logger: Logger, options: RevocationPublisherOptions): RevocationPublisher {
  const listeners: ((event: RevocationEvent) => void | Promise<void>)[] = [];
  const acks = redis && options.ackTimeoutMs > 0 ? new AckListener(redis, logger) : undefined;
  return {
    async publish(event) {
      for (const listener of listeners) {
        await Promise.resolve(listener(event)).catch((err) => logger.warn({ err }, 'local revocation listener failed'));
      }
      const owner = options.owner ? await tellOwner(options.owner, event, logger) : NONE;
      const onRedis = await publishOnRedis(event);
      return { notified: owner.notified + onRedis.notified, confirmed: owner.confirmed + onRedis.confirmed };
    },
    onLocal(listener) {
      listeners.push(listener);
    },
    async close() {
      await acks?.close();
    },
  };

  async function publishOnRedis(event: RevocationEvent): Promise<RevocationDelivery> {
    if (!redis) return NONE;
    if (redis.status !== 'ready') {
      logger.warn({ status: redis.status }, `revocation notice not published: Redis is not connected; ${UNHEARD}`);
      return NONE;
    }
    const id = crypto.randomUUID();
    const deadline = Date.now() + options.ackTimeoutMs;
    // Registered before publishing: a confirmation may arrive before PUBLISH's own answer.
    const waiting = acks && (await acks.listening(options.ackTimeoutMs)) ? acks.expect(id) : undefined;
    let notified: number;
    try {
      notified = Number(await redis.publish(REVOCATION_CHANNEL, JSON.stringify({ ...event, id })));
    } catch (err) {
      waiting?.cancel();
      logger.warn({ err }, `revocation notice not published; ${UNHEARD}`);
      return NONE;
    }
    if (!waiting) {
      if (notified > 0 && acks) logger.warn({ notified }, 'revocation published without waiting for confirmations (not subscribed to them)');
      return { notified, confirmed: 0 };
    }
    const confirmed = await waiting.until(notified, Math.max(0, deadline - Date.now()));
    if (confirmed < notified) {
      logger.warn({ notified, confirmed, timeout_ms: options.ackTimeoutMs }, 'not every resource server confirmed the revocation in time');
    }
    return { notified, confirmed };
  }
}

async function tellOwner(owner: (event: RevocationEvent) => Promise<void>, event: RevocationEvent, logger: Logger): Promise<RevocationDelivery> {
  try {
    await owner(event);
    return { notified: 1, confirmed: 1 };
  } catch (err) {
    logger.warn({ err }, `revocation notice not delivered to the process that owns the embedded database; ${UNHEARD}`);
    return { notified: 1, confirmed: 0 };
  }
}

interface Expected {
  count: number;
  wanted: number;
  done?: () => void;
}

/** The subscription to the acknowledgement channel; counts confirmations per notice id. */
class AckListener {
  private readonly subscription: LiveSubscription;
  private readonly expected = new Map<string, Expected>();

  constructor(redis: Redis, logger: Logger) {
    // A subscribed connection can do nothing else: one of its own, connected on first use (a CLI
    // run that revokes nothing opens none).
    const connection = redis.duplicate({ lazyConnect: true, maxRetriesPerRequest: null, autoResubscribe: false });
    this.subscription = new LiveSubscription(connection, REVOCATION_ACK_CHANNEL, (id) => this.confirmed(id), { logger, name: 'revocation confirmations' });
  }

  /** Whether confirmations can be heard, waiting at most `ms` for the subscription. */
  listening(ms: number): Promise<boolean> {
    return this.subscription.whenLive(ms);
  }

  private confirmed(id: string): void {
    const entry = this.expected.get(id);
    if (!entry) return;
    entry.count += 1;
    if (entry.count >= entry.wanted) entry.done?.();
  }

  expect(id: string): { until(wanted: number, ms: number): Promise<number>; cancel(): void } {
    const entry: Expected = { count: 0, wanted: Number.POSITIVE_INFINITY };
    this.expected.set(id, entry);
    return {
      until: async (wanted, ms) => {
        entry.wanted = wanted;
        let timer: NodeJS.Timeout | undefined;
        try {
          if (entry.count < wanted) {
            await new Promise<void>((resolve) => {
              entry.done = resolve;
              timer = setTimeout(resolve, ms);
            });
          }
          return Math.min(entry.count, wanted);
        } finally {
          clearTimeout(timer);
          this.expected.delete(id);
        }
      },
      cancel: () => void this.expected.delete(id),
    };
  }

  close(): Promise<void> {
    return this.subscription.close();
  }
}
