// The revocation publisher against a real Redis: a revocation answers only once every resource
// server subscribed to the channel confirmed it (or the timeout passed), so "revoked" means that no
// replica still trusts the grant. Other test suites' replicas may share this Redis and hear these
// notices too: the assertions hold whatever else is subscribed.
import crypto from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { REVOCATION_ACK_CHANNEL, REVOCATION_CHANNEL, createLogger, type RevocationEvent } from '@mcp-gw/shared';
import { createRevocationPublisher, unconfirmedNotice, type RevocationPublisher } from '../src/revocation-bus.js';

const redisUrl = process.env.TEST_REDIS_URL;
const silent = createLogger('test', 'silent');

describe('revocation publisher without Redis (one process)', () => {
  it('runs the in-process listeners before it returns and reports no remote server', async () => {
    const publisher = createRevocationPublisher(undefined, silent, { ackTimeoutMs: 1000 });
    const heard: RevocationEvent[] = [];
    publisher.onLocal(async (event) => {
      await new Promise((r) => setTimeout(r, 20));
      heard.push(event);
    });
    const delivery = await publisher.publish({ type: 'grant', grantIds: ['g1'] });
    expect(heard).toEqual([{ type: 'grant', grantIds: ['g1'] }]);
    expect(delivery).toEqual({ notified: 0, confirmed: 0 });
    await publisher.close();
  });
});

describe.skipIf(!redisUrl)('revocation publisher on Redis (TEST_REDIS_URL)', () => {
  const connections: Redis[] = [];
  const publishers: RevocationPublisher[] = [];
  const connect = () => {
    const c = new Redis(redisUrl!, { maxRetriesPerRequest: 1 });
    connections.push(c);
    return c;
  };
  const newPublisher = async (ackTimeoutMs: number) => {
    const redis = connect();
    await redis.ping(); // connected, as the servers' client is before they serve
    const p = createRevocationPublisher(redis, silent, { ackTimeoutMs });
    publishers.push(p);
    return p;
  };
  /** A stand-in for an MCP replica: hears notices naming `grantId` and confirms each after `delayMs`. */
  const replica = async (grantId: string, options: { delayMs?: number; confirms?: boolean } = {}) => {
    const sub = connect();
    const pub = connect();
    const confirmedAt: number[] = [];
    sub.on('message', (_channel: string, message: string) => {
      const event = JSON.parse(message) as RevocationEvent;
      if (!event.grantIds.includes(grantId) || options.confirms === false) return;
      setTimeout(() => {
        confirmedAt.push(performance.now());
        void pub.publish(REVOCATION_ACK_CHANNEL, event.id!);
      }, options.delayMs ?? 0);
    });
    await sub.subscribe(REVOCATION_CHANNEL);
    return { confirmedAt };
  };

  afterEach(async () => {
    await Promise.all(publishers.splice(0).map((p) => p.close()));
  });
  afterAll(() => {
    for (const c of connections) c.disconnect();
  });

  it('returns only after every subscribed resource server confirmed, the slowest included', async () => {
    const grantId = crypto.randomUUID();
    const fast = await replica(grantId);
    const slow = await replica(grantId, { delayMs: 300 });
    const delivery = await (await newPublisher(10_000)).publish({ type: 'grant', grantIds: [grantId] });
    const returnedAt = performance.now();
    expect(delivery.notified).toBeGreaterThanOrEqual(2);
    expect(delivery.confirmed).toBe(delivery.notified);
    expect(fast.confirmedAt).toHaveLength(1);
    expect(slow.confirmedAt).toHaveLength(1);
    expect(slow.confirmedAt[0]!).toBeLessThanOrEqual(returnedAt);
  });

  it('a notice carries an id of its own, and the event as given', async () => {
    const grantId = crypto.randomUUID();
    const sub = connect();
    const seen: RevocationEvent[] = [];
    sub.on('message', (_c: string, m: string) => {
      const event = JSON.parse(m) as RevocationEvent;
      if (event.clientId === grantId) seen.push(event);
    });
    await sub.subscribe(REVOCATION_CHANNEL);
    const publisher = await newPublisher(200);
    await publisher.publish({ type: 'client', clientId: grantId, grantIds: ['a', 'b'] });
    await publisher.publish({ type: 'client', clientId: grantId, grantIds: [] });
    await expect.poll(() => seen.length).toBe(2);
    expect(seen[0]).toMatchObject({ type: 'client', clientId: grantId, grantIds: ['a', 'b'] });
    expect(seen[0]!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen[1]!.id).not.toBe(seen[0]!.id);
  });

  it('a server that never confirms delays the answer by the timeout at most, and the answer says it did not confirm', async () => {
    const grantId = crypto.randomUUID();
    await replica(grantId, { confirms: false });
    await replica(grantId);
    const delivery = await (await newPublisher(300)).publish({ type: 'grant', grantIds: [grantId] });
    expect(delivery.notified).toBeGreaterThanOrEqual(2);
    expect(delivery.confirmed).toBeLessThan(delivery.notified);
    expect(delivery.confirmed).toBeGreaterThanOrEqual(1);
    // What the admin page and the CLI then tell the administrator.
    expect(unconfirmedNotice(delivery)).toContain(`${delivery.notified - delivery.confirmed} of ${delivery.notified} MCP servers did not confirm in time`);
    expect(unconfirmedNotice({ notified: 2, confirmed: 2 })).toBe('');
  });

  it('with a timeout of 0 it publishes without waiting for confirmations', async () => {
    const grantId = crypto.randomUUID();
    const slow = await replica(grantId, { delayMs: 300 });
    const delivery = await (await newPublisher(0)).publish({ type: 'grant', grantIds: [grantId] });
    expect(delivery.notified).toBeGreaterThanOrEqual(1);
    expect(delivery.confirmed).toBe(0);
    expect(slow.confirmedAt).toHaveLength(0);
  });

  it('with Redis unreachable it answers at once with nobody notified (the database stays the truth)', async () => {
    const down = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    connections.push(down);
    const publisher = createRevocationPublisher(down, silent, { ackTimeoutMs: 300 });
    publishers.push(publisher);
    expect(await publisher.publish({ type: 'grant', grantIds: ['g'] })).toEqual({ notified: 0, confirmed: 0 });
  });
});
