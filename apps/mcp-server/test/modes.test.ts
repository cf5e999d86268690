import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { REVOCATION_ACK_CHANNEL, REVOCATION_CHANNEL, createLogger } from '@mcp-gw/shared';
import { Client, StreamableHTTPClientTransport, startHarness, type Harness } from './support/harness.js';
import { ToolRateLimiter } from '../src/tools/rate-limit.js';

describe('MCP_AUTH_DISABLED (benchmarks only)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ envFor: (users) => ({ MCP_AUTH_DISABLED: 'true', MCP_AUTH_DISABLED_SUB: users.alice }) });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('serves /mcp without a token as the configured user, still scoped to that user\'s projects', async () => {
    const client = new Client({ name: 'bench', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(h.mcpUrl)));
    const r = await client.callTool({ name: 'list_projects', arguments: {} });
    expect((r.structuredContent as { projects: { key: string }[] }).projects.map((p) => p.key)).toEqual(['MOB', 'OPS', 'WEB']);
    await client.close();
  });
});

const redisUrl = process.env.TEST_REDIS_URL;

describe.skipIf(!redisUrl)('rate limits in Redis (TEST_REDIS_URL)', () => {
  it('replicas sharing one Redis share one budget per user and client', async () => {
    const a = new Redis(redisUrl!, { enableOfflineQueue: false, lazyConnect: true });
    const b = new Redis(redisUrl!, { enableOfflineQueue: false, lazyConnect: true });
    await Promise.all([a.connect(), b.connect()]);
    try {
      const logger = createLogger('test', 'silent');
      const first = new ToolRateLimiter({ read: 100, write: 2 }, logger, a);
      const second = new ToolRateLimiter({ read: 100, write: 2 }, logger, b);
      const sub = crypto.randomUUID();
      expect((await first.consume('write', 'client', sub)).allowed).toBe(true);
      expect((await second.consume('write', 'client', sub)).allowed).toBe(true);
      const third = await first.consume('write', 'client', sub);
      expect(third.allowed).toBe(false);
      if (!third.allowed) expect(third.retryAfterSeconds).toBeGreaterThan(0);
      // Other class and other user are separate budgets.
      expect((await second.consume('read', 'client', sub)).allowed).toBe(true);
      expect((await second.consume('write', 'client', crypto.randomUUID())).allowed).toBe(true);
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });

  it('the app uses Redis for its limits when REDIS_URL is set', async () => {
    const h = await startHarness({ env: { REDIS_URL: redisUrl!, RATE_LIMIT_WRITE_PER_MINUTE: '1' } });
    try {
      const c = await h.connect(await h.token({ sub: h.users.alice, clientId: `redis-${crypto.randomUUID()}` }));
      const create = (title: string) => c.client.callTool({ name: 'create_ticket', arguments: { project: 'WEB', title, body: 'x' } });
      expect((await create('First via redis')).isError).toBeFalsy();
      const second = await create('Second via redis');
      expect(second.isError).toBe(true);
      const probe = new Redis(redisUrl!);
      try {
        expect((await probe.keys('mcp_rl_write*')).length).toBeGreaterThan(0);
      } finally {
        probe.disconnect();
      }
    } finally {
      await h.close();
    }
  });

  it('closes live sessions when the authorization server announces a revocation on the channel', async () => {
    const h = await startHarness({ env: { REDIS_URL: redisUrl! } });
    const publisher = new Redis(redisUrl!);
    try {
      const gid = await h.issuer.createGrant();
      const byGrant = await h.connect(await h.token({ sub: h.users.alice, gid }));
      const clientId = `revoked-client-${crypto.randomUUID()}`;
      const byClient = await h.connect(await h.token({ sub: h.users.bob, clientId }));
      const bystander = await h.connect(await h.token({ sub: h.users.bob }));
      // The subscription is set up asynchronously at start: publish until it is heard.
      await expect
        .poll(async () => {
          await publisher.publish(REVOCATION_CHANNEL, JSON.stringify({ type: 'grant', grantIds: [gid] }));
          return h.mcp.sessions.ids().includes(byGrant.sessionId);
        })
        .toBe(false);
      await publisher.publish(REVOCATION_CHANNEL, JSON.stringify({ type: 'client', clientId, grantIds: [] }));
      await publisher.publish(REVOCATION_CHANNEL, 'not json');
      await expect.poll(() => h.mcp.sessions.ids().includes(byClient.sessionId)).toBe(false);
      expect(h.mcp.sessions.ids()).toContain(bystander.sessionId);
    } finally {
      publisher.disconnect();
      await h.close();
    }
  });

  it('while subscribed, standing grants are remembered and a notice on the channel, once confirmed, ends one on the next request', async () => {
    const h = await startHarness({ env: { REDIS_URL: redisUrl! } });
    const publisher = new Redis(redisUrl!);
    const acksHeard = new Redis(redisUrl!);
    try {
      await expect.poll(() => h.mcp.grants.caching, { timeout: 15_000 }).toBe(true);
      const gid = await h.issuer.createGrant();
      const token = await h.token({ sub: h.users.carol, gid });
      const c = await h.connect(token);
      expect((await c.client.callTool({ name: 'list_projects', arguments: {} })).isError).toBeFalsy();
      await h.issuer.revokeGrant(gid);
      // Remembered: the row's deletion alone is not seen...
      expect((await c.client.callTool({ name: 'list_projects', arguments: {} })).isError).toBeFalsy();
      // ...the notice every revocation publishes is, and the replica confirms it (as every replica
      // subscribed to this Redis does; the authorization server waits for all of them): once it
      // has, the very next request is refused.
      const id = crypto.randomUUID();
      let acks = 0;
      acksHeard.on('message', (channel: string, message: string) => void (channel === REVOCATION_ACK_CHANNEL && message === id && acks++));
      await acksHeard.subscribe(REVOCATION_ACK_CHANNEL);
      const notified = await publisher.publish(REVOCATION_CHANNEL, JSON.stringify({ type: 'grant', grantIds: [gid], id }));
      expect(notified).toBeGreaterThanOrEqual(1);
      await expect.poll(() => acks, { timeout: 5_000 }).toBe(notified);
      const res = await fetch(h.mcpUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': c.sessionId },
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list' }),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    } finally {
      publisher.disconnect();
      acksHeard.disconnect();
      await h.close();
    }
    expect(h.mcp.grants.caching).toBe(false);
  });
});
