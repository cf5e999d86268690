/** The session and SSE event stores on their own: memory always, Redis with TEST_REDIS_URL. */
import crypto from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { MemoryEventStore, RedisEventStore } from '../src/sessions/event-store.js';
import { MemorySessionStore, RedisSessionStore, type SessionRecord, type SessionStore } from '../src/sessions/session-store.js';

const redisUrl = process.env.TEST_REDIS_URL;
const redis = redisUrl ? new Redis(redisUrl) : undefined;
afterAll(() => redis?.disconnect());

const note = (n: number): JSONRPCMessage => ({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: n } });

const data = (m: JSONRPCMessage) => (m as unknown as { params: { data: number } }).params.data;

async function replay(store: { replayEventsAfter: MemoryEventStore['replayEventsAfter'] }, after: string) {
  const got: { id: string; message: JSONRPCMessage }[] = [];
  const streamId = await store.replayEventsAfter(after, { send: async (id, message) => void got.push({ id, message }) });
  return { streamId, got };
}

const eventStores: [string, () => MemoryEventStore | RedisEventStore][] = [['memory', () => new MemoryEventStore({ maxEvents: 3, ttlMs: 60_000 })]];
if (redis) eventStores.push(['redis', () => new RedisEventStore(redis, crypto.randomUUID(), { maxEvents: 3, ttlMs: 60_000 })]);

describe.each(eventStores)('%s event store', (_name, make) => {
  it('replays what came after an event id, on that stream only, never the priming event', async () => {
    const store = make();
    const priming = await store.storeEvent('s1', {} as JSONRPCMessage);
    const first = await store.storeEvent('s1', note(1));
    await store.storeEvent('other', note(99));
    await store.storeEvent('s1', note(2));
    expect(await store.getStreamIdForEventId(first)).toBe('s1');
    const all = await replay(store, priming);
    expect(all.streamId).toBe('s1');
    expect(all.got.map((e) => data(e.message))).toEqual([1, 2]);
    const rest = await replay(store, first);
    expect(rest.got.map((e) => data(e.message))).toEqual([2]);
    expect(rest.got[0]!.id).toBe(all.got[1]!.id);
  });

  it('keeps a bounded number of events per stream', async () => {
    const store = make();
    const start = await store.storeEvent('s', {} as JSONRPCMessage);
    for (let i = 1; i <= 6; i++) await store.storeEvent('s', note(i));
    const { got } = await replay(store, start);
    expect(got.map((e) => data(e.message))).toEqual([4, 5, 6]);
  });

  it('refuses event ids it did not make', async () => {
    const store = make();
    expect(await store.getStreamIdForEventId('garbage')).toBeUndefined();
  });
});

const record = (over: Partial<SessionRecord> = {}): SessionRecord => ({
  id: crypto.randomUUID(),
  sub: 'user-1',
  clientId: `client-${crypto.randomUUID()}`,
  grantId: crypto.randomUUID(),
  protocolVersion: '2025-11-25',
  clientCapabilities: { elicitation: { form: {} } },
  clientInfo: { name: 'c', version: '1' },
  createdAt: Date.now(),
  ...over,
});

const sessionStores: [string, () => SessionStore][] = [['memory', () => new MemorySessionStore()]];
if (redis) sessionStores.push(['redis', () => new RedisSessionStore(redis, 60_000)]);

describe.each(sessionStores)('%s session store', (name, make) => {
  it('keeps, finds by grant and client, touches and deletes records', async () => {
    const store = make();
    const a = record();
    const b = record({ clientId: a.clientId });
    await store.put(a);
    await store.put(b);
    expect(await store.get(a.id)).toEqual(a);
    expect((await store.idsByGrant(a.grantId!)).sort()).toEqual([a.id]);
    expect((await store.idsByClient(a.clientId)).sort()).toEqual([a.id, b.id].sort());
    expect(await store.touch(a)).toBe(true);
    expect(await store.delete(a.id)).toBe(true);
    expect(await store.delete(a.id)).toBe(false);
    expect(await store.get(a.id)).toBeUndefined();
    expect(await store.touch(a)).toBe(false);
    expect(await store.idsByClient(a.clientId)).toEqual([b.id]);
    await store.delete(b.id);
  });

  it("a record moved to a newer grant leaves the old grant's index", async () => {
    const store = make();
    const r = record();
    await store.put(r);
    const newer = { ...r, grantId: crypto.randomUUID() };
    await store.put(newer);
    expect(await store.idsByGrant(r.grantId!)).toEqual([]);
    expect(await store.idsByGrant(newer.grantId)).toEqual([r.id]);
    await store.delete(r.id);
  });

  it.runIf(name === 'redis')('records expire by themselves (the idle timeout is their TTL)', async () => {
    const store = new RedisSessionStore(redis!, 1000);
    const r = record();
    await store.put(r);
    expect(await redis!.pttl(`mcp:session:rec:${r.id}`)).toBeGreaterThan(0);
    expect(await redis!.pttl(`mcp:session:rec:${r.id}`)).toBeLessThanOrEqual(1000);
    await store.delete(r.id);
  });
});

describe('memory event store bounds', () => {
  it('keeps at most maxStreams streams, forgetting the least recently used first', async () => {
    const store = new MemoryEventStore({ maxEvents: 10, ttlMs: 60_000 }, 3);
    const a = await store.storeEvent('a', note(1));
    const b = await store.storeEvent('b', note(2));
    await store.storeEvent('c', note(3));
    await store.storeEvent('a', note(4)); // a is now the most recent
    await store.storeEvent('d', note(5)); // one too many: b goes
    expect((await replay(store, b)).got).toEqual([]);
    expect((await replay(store, a)).got.map((e) => data(e.message))).toEqual([4]);
  });

  it('forgets a stream ttlMs after its last event', async () => {
    let now = 1_000_000;
    const realNow = Date.now;
    Date.now = () => now;
    try {
      const store = new MemoryEventStore({ maxEvents: 10, ttlMs: 1_000 });
      const old = await store.storeEvent('old', note(1));
      await store.storeEvent('old', note(2));
      now += 600;
      const fresh = await store.storeEvent('fresh', note(3));
      await store.storeEvent('fresh', note(4));
      now += 600; // 'old' last touched 1,200 ms ago, 'fresh' 600 ms ago
      await store.storeEvent('other', note(5));
      expect((await replay(store, old)).got).toEqual([]);
      expect((await replay(store, fresh)).got.map((e) => data(e.message))).toEqual([4]);
    } finally {
      Date.now = realNow;
    }
  });
});
