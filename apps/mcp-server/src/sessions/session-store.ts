import { Redis } from 'ioredis';
import type { Logger } from '@mcp-gw/shared';
import type { ClientCapabilities, Implementation, JSONRPCMessage } from '../mcp/sdk.js';

/**
 * What a replica needs to continue a session it did not open: who owns it, the grant of the latest
 * token used on it, and what initialize negotiated.
 */
export interface SessionRecord {
  id: string;
  sub: string;
  clientId: string;
  grantId: string | undefined;
  protocolVersion: string;
  clientCapabilities: ClientCapabilities;
  clientInfo: Implementation;
  createdAt: number;
}

/**
 * Where session records live. In memory (one process) without REDIS_URL; in Redis, shared by every
 * replica, with it. Records expire after the idle timeout (Redis TTL refreshed on each request; the
 * session manager's sweep in memory) and are deleted on DELETE and on revocation.
 */
export interface SessionStore {
  /** True when other replicas see the same records. */
  readonly shared: boolean;
  put(record: SessionRecord): Promise<void>;
  get(id: string): Promise<SessionRecord | undefined>;
  /** Refreshes the record's expiry; false when it is gone. */
  touch(record: SessionRecord): Promise<boolean>;
  /** True when a record was deleted. */
  delete(id: string): Promise<boolean>;
  idsByGrant(grantId: string): Promise<string[]>;
  idsByClient(clientId: string): Promise<string[]>;
}

export class MemorySessionStore implements SessionStore {
  readonly shared = false;
  private readonly records = new Map<string, SessionRecord>();

  async put(record: SessionRecord): Promise<void> {
    this.records.set(record.id, { ...record });
  }
  async get(id: string): Promise<SessionRecord | undefined> {
    const r = this.records.get(id);
    return r && { ...r };
  }
  async touch(record: SessionRecord): Promise<boolean> {
    return this.records.has(record.id);
  }
  async delete(id: string): Promise<boolean> {
    return this.records.delete(id);
  }
  async idsByGrant(grantId: string): Promise<string[]> {
    return [...this.records.values()].filter((r) => r.grantId === grantId).map((r) => r.id);
  }
  async idsByClient(clientId: string): Promise<string[]> {
    return [...this.records.values()].filter((r) => r.clientId === clientId).map((r) => r.id);
  }
}

const PREFIX = 'mcp:session:';
const recordKey = (id: string) => `${PREFIX}rec:${id}`;
const grantKey = (gid: string) => `${PREFIX}grant:${gid}`;
const clientKey = (cid: string) => `${PREFIX}client:${cid}`;

/**
 * Records as JSON under `mcp:session:rec:<id>` (PX = idle timeout, refreshed on every request), plus
 * index sets per grant and per client for revocation. Index sets may name expired records; readers
 * treat those as gone.
 */
export class RedisSessionStore implements SessionStore {
  readonly shared = true;

  constructor(
    private readonly redis: Redis,
    private readonly idleTimeoutMs: number,
  ) {}

  async put(record: SessionRecord): Promise<void> {
    const ttl = this.idleTimeoutMs;
    const previous = await this.get(record.id);
    const m = this.redis.multi();
    if (previous?.grantId && previous.grantId !== record.grantId) m.srem(grantKey(previous.grantId), record.id);
    m.set(recordKey(record.id), JSON.stringify(record), 'PX', ttl);
    if (record.grantId) m.sadd(grantKey(record.grantId), record.id).pexpire(grantKey(record.grantId), ttl);
    m.sadd(clientKey(record.clientId), record.id).pexpire(clientKey(record.clientId), ttl);
    await m.exec();
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const raw = await this.redis.get(recordKey(id));
    if (!raw) return undefined;
    try {
      return JSON.parse(raw) as SessionRecord;
    } catch {
      return undefined;
    }
  }

  async touch(record: SessionRecord): Promise<boolean> {
    const ttl = this.idleTimeoutMs;
    const m = this.redis.multi().pexpire(recordKey(record.id), ttl);
    if (record.grantId) m.pexpire(grantKey(record.grantId), ttl);
    m.pexpire(clientKey(record.clientId), ttl);
    const results = await m.exec();
    return results?.[0]?.[1] === 1;
  }

  async delete(id: string): Promise<boolean> {
    const record = await this.get(id);
    const m = this.redis.multi().del(recordKey(id));
    if (record?.grantId) m.srem(grantKey(record.grantId), id);
    if (record) m.srem(clientKey(record.clientId), id);
    const results = await m.exec();
    return results?.[0]?.[1] === 1;
  }

  async idsByGrant(grantId: string): Promise<string[]> {
    return this.redis.smembers(grantKey(grantId));
  }

  async idsByClient(clientId: string): Promise<string[]> {
    return this.redis.smembers(clientKey(clientId));
  }
}

/** What replicas tell each other about sessions. */
export type SessionBusEvent =
  /** The session ended (DELETE, revocation, idle): drop any local copy. */
  | { type: 'closed'; id: string }
  /** Client responses to a server-initiated request (elicitation) that another replica sent. */
  | { type: 'rpc'; id: string; to: string; messages: JSONRPCMessage[] };

export interface SessionBus {
  publish(event: SessionBusEvent): Promise<void>;
  subscribe(handler: (event: SessionBusEvent) => void): void;
  close(): Promise<void>;
}

/** One process: nobody else to tell. */
export class LocalSessionBus implements SessionBus {
  async publish(): Promise<void> {}
  subscribe(): void {}
  async close(): Promise<void> {}
}

export const SESSION_BUS_CHANNEL = 'mcp:session:bus';

export class RedisSessionBus implements SessionBus {
  private readonly handlers: ((event: SessionBusEvent) => void)[] = [];
  private readonly subscriber: Redis;
  readonly ready: Promise<void>;

  constructor(
    redisUrl: string,
    private readonly publisher: Redis,
    private readonly logger: Logger,
  ) {
    this.subscriber = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: null });
    this.subscriber.on('error', (err) => logger.warn({ err }, 'session bus: redis error'));
    this.subscriber.on('message', (channel, message) => {
      if (channel !== SESSION_BUS_CHANNEL) return;
      let event: SessionBusEvent;
      try {
        event = JSON.parse(message) as SessionBusEvent;
      } catch {
        return;
      }
      if (!event || typeof event.id !== 'string') return;
      for (const h of this.handlers) h(event);
    });
    this.ready = this.subscriber
      .connect()
      .then(() => this.subscriber.subscribe(SESSION_BUS_CHANNEL))
      .then(() => undefined)
      .catch((err) => logger.warn({ err }, 'session bus: cannot subscribe now; will retry with the connection'));
  }

  async publish(event: SessionBusEvent): Promise<void> {
    await this.publisher.publish(SESSION_BUS_CHANNEL, JSON.stringify(event));
  }

  subscribe(handler: (event: SessionBusEvent) => void): void {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }
}

/**
 * Redis with a fallback: while Redis is unreachable, records are read from and written to this
 * process's memory (every record is mirrored there), so the replica keeps serving the sessions it
 * holds; sessions then no longer move between replicas until Redis is back. Chosen over failing every
 * request: revocation does not depend on this store (grants are checked in the database).
 */
export class DegradingSessionStore implements SessionStore {
  readonly shared = true;
  private readonly local = new MemorySessionStore();
  private lastWarning = 0;

  constructor(
    private readonly primary: SessionStore,
    private readonly logger: Logger,
  ) {}

  private async either<T>(op: string, remote: () => Promise<T>, local: () => Promise<T>): Promise<T> {
    try {
      return await remote();
    } catch (err) {
      if (Date.now() - this.lastWarning > 10_000) {
        this.lastWarning = Date.now();
        this.logger.warn({ err: (err as Error).message, op }, 'session store unreachable: serving sessions from this replica only');
      }
      return local();
    }
  }

  async put(record: SessionRecord): Promise<void> {
    await this.local.put(record);
    await this.either('put', () => this.primary.put(record), async () => undefined);
  }
  async get(id: string): Promise<SessionRecord | undefined> {
    return this.either('get', async () => (await this.primary.get(id)) ?? (await this.local.get(id)), () => this.local.get(id));
  }
  async touch(record: SessionRecord): Promise<boolean> {
    const here = await this.local.touch(record);
    return this.either('touch', async () => (await this.primary.touch(record)) || here, async () => here);
  }
  async delete(id: string): Promise<boolean> {
    const here = await this.local.delete(id);
    return this.either('delete', async () => (await this.primary.delete(id)) || here, async () => here);
  }
  async idsByGrant(grantId: string): Promise<string[]> {
    const here = await this.local.idsByGrant(grantId);
    return this.either('idsByGrant', async () => [...new Set([...(await this.primary.idsByGrant(grantId)), ...here])], async () => here);
  }
  async idsByClient(clientId: string): Promise<string[]> {
    const here = await this.local.idsByClient(clientId);
    return this.either('idsByClient', async () => [...new Set([...(await this.primary.idsByClient(clientId)), ...here])], async () => here);
  }
}
