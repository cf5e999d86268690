import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { MCP_ACCEPT, startHarness, type Harness } from './support/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ env: { RATE_LIMIT_WRITE_PER_MINUTE: '2', RATE_LIMIT_READ_PER_MINUTE: '3' } });
});
afterAll(async () => {
  await h?.close();
});

const text = (r: CallToolResult) => r.content.map((c) => (c as { text?: string }).text ?? '').join('\n');

describe('revoked grant', () => {
  it('refuses the next request with 401 invalid_token telling the person to reconnect, and closes the live session', async () => {
    const gid = await h.issuer.createGrant();
    const token = await h.token({ sub: h.users.alice, gid });
    const c = await h.connect(token);
    const ok = (await c.client.callTool({ name: 'list_projects', arguments: {} })) as CallToolResult;
    expect(ok.isError).toBeFalsy();
    expect(h.mcp.sessions.ids()).toContain(c.sessionId);

    await h.issuer.revokeGrant(gid);

    const res = await fetch(h.mcpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: MCP_ACCEPT, 'mcp-session-id': c.sessionId },
      body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/list' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const body = (await res.json() as any);
    expect(body.error_description).toMatch(/reconnect the server/i);
    // The session is gone: even a new token of the same user cannot use it.
    await expect.poll(() => h.mcp.sessions.ids().includes(c.sessionId)).toBe(false);
    const fresh = await h.token({ sub: h.users.alice });
    const after = await fetch(h.mcpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${fresh}`, 'content-type': 'application/json', accept: MCP_ACCEPT, 'mcp-session-id': c.sessionId },
      body: JSON.stringify({ jsonrpc: '2.0', id: 100, method: 'tools/list' }),
    });
    expect(after.status).toBe(404);
    // The SDK client sees the failure too.
    await expect(c.client.callTool({ name: 'list_projects', arguments: {} })).rejects.toThrow();
    // Denials are audited without holding up the 401: wait for the row to land.
    await vi.waitFor(
      async () => {
        const audit = await h.db.prisma.auditEvent.findFirst({ where: { action: 'mcp.request', outcome: 'denied', actorId: h.users.alice }, orderBy: { id: 'desc' } });
        expect(audit?.details).toMatchObject({ reason: 'grant_revoked' });
      },
      { timeout: 15_000, interval: 100 },
    );
  });

  it('the periodic sweep closes sessions of revoked grants without any request', async () => {
    const gid = await h.issuer.createGrant();
    const c = await h.connect(await h.token({ sub: h.users.bob, gid }));
    const other = await h.connect(await h.token({ sub: h.users.bob }));
    expect(h.mcp.sessions.ids()).toContain(c.sessionId);
    await h.issuer.revokeGrant(gid);
    const swept = await h.mcp.sessions.sweep();
    expect(swept.revoked).toBe(1);
    expect(h.mcp.sessions.ids()).not.toContain(c.sessionId);
    expect(h.mcp.sessions.ids()).toContain(other.sessionId);
  });

  it('an in-process revocation notice (embedded launcher) closes the client\'s sessions at once', async () => {
    const c = await h.connect(await h.token({ sub: h.users.alice, clientId: 'doomed-client' }));
    const other = await h.connect(await h.token({ sub: h.users.alice }));
    expect(await h.mcp.revoke({ type: 'client', clientId: 'doomed-client', grantIds: [] })).toBe(1);
    expect(h.mcp.sessions.ids()).not.toContain(c.sessionId);
    expect(h.mcp.sessions.ids()).toContain(other.sessionId);
  });

  it('with the in-process feed (embedded launcher) a standing grant is not looked up again, and the notice ends it on the next request', async () => {
    const detach = h.mcp.addRevocationFeed();
    try {
      const gid = await h.issuer.createGrant();
      const c = await h.connect(await h.token({ sub: h.users.alice, gid }));
      expect(((await c.client.callTool({ name: 'list_projects', arguments: {} })) as CallToolResult).isError).toBeFalsy();
      // The row goes without a notice (nothing in this product does that): the remembered answer stands.
      await h.issuer.revokeGrant(gid);
      expect(((await c.client.callTool({ name: 'list_projects', arguments: {} })) as CallToolResult).isError).toBeFalsy();
      // The notice the authorization server sends with every revocation: refused at once.
      await h.mcp.revoke({ type: 'grant', grantIds: [gid] });
      await expect(c.client.callTool({ name: 'list_projects', arguments: {} })).rejects.toThrow();
    } finally {
      detach();
    }
    expect(h.mcp.grants.caching).toBe(false);
  });

  it('the sweep ends idle sessions', async () => {
    const c = await h.connect(await h.token({ sub: h.users.bob }));
    const swept = await h.mcp.sessions.sweep(Date.now() + h.config.SESSION_IDLE_TIMEOUT_MS + 1000);
    expect(swept.idle).toBeGreaterThanOrEqual(1);
    expect(h.mcp.sessions.ids()).not.toContain(c.sessionId);
  });
});

describe('rate limits', () => {
  it('per user and client, per tool class: exceeding is a tool error with a retry time, the session stays usable', async () => {
    const c = await h.connect(await h.token({ sub: h.users.alice, clientId: 'rate-client' }));
    const create = (i: number) =>
      c.client.callTool({ name: 'create_ticket', arguments: { project: 'WEB', title: `Rate limited ticket ${i}`, body: 'x' } }) as Promise<CallToolResult>;
    expect((await create(1)).isError).toBeFalsy();
    expect((await create(2)).isError).toBeFalsy();
    const before = await h.db.prisma.ticket.count();
    const limited = await create(3);
    expect(limited.isError).toBe(true);
    expect(text(limited)).toMatch(/Rate limit reached/);
    expect(text(limited)).toMatch(/Retry after \d+ seconds/);
    expect(limited._meta?.['io.mcp-gw/error']).toMatchObject({ error: 'rate_limited', retry_after_seconds: expect.any(Number) });
    expect(await h.db.prisma.ticket.count()).toBe(before);

    // Reads are a separate budget, and the connection is still alive.
    const read = (await c.client.callTool({ name: 'list_projects', arguments: {} })) as CallToolResult;
    expect(read.isError).toBeFalsy();

    // Another client of the same user has its own budget.
    const other = await h.connect(await h.token({ sub: h.users.alice, clientId: 'other-rate-client' }));
    const ok = (await other.client.callTool({ name: 'create_ticket', arguments: { project: 'WEB', title: 'Other client ticket', body: 'x' } })) as CallToolResult;
    expect(ok.isError).toBeFalsy();

    const audit = await h.db.prisma.auditEvent.findFirst({ where: { action: 'tool.create_ticket', outcome: 'denied' }, orderBy: { id: 'desc' } });
    expect(audit?.details).toMatchObject({ reason: 'rate_limited' });
    const metrics = await (await fetch(`${h.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/mcp_tool_calls_total\{tool="create_ticket",outcome="rate_limited"\} 1/);
  });
});
