/**
 * The critical paths against a real PostgreSQL server, when TEST_DATABASE_URL is set (for example
 * postgresql://postgres@127.0.0.1:5432/test). Every harness then runs on its own database
 * (mcp_test_<random>, created through the server's `postgres` database and dropped afterwards); this file
 * adds what only PostgreSQL can show: a real unique-key race, the GIN index being usable.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { MCP_ACCEPT, initializeBody, startHarness, type ConnectedClient, type Harness } from './support/harness.js';

const baseUrl = process.env.TEST_DATABASE_URL;

describe.skipIf(!baseUrl)('against PostgreSQL (TEST_DATABASE_URL)', () => {
  let h: Harness;
  let alice: ConnectedClient;

  beforeAll(async () => {
    h = await startHarness({ env: { RATE_LIMIT_WRITE_PER_MINUTE: '1000' } });
    alice = await h.connect(await h.token({ sub: h.users.alice }));
  });

  afterAll(async () => {
    await h?.close();
  });

  const call = (name: string, args: Record<string, unknown> = {}) => alice.client.callTool({ name, arguments: args }) as Promise<CallToolResult>;
  const sc = (r: CallToolResult) => r.structuredContent as Record<string, any>;

  it('uses PostgreSQL', () => {
    expect(h.db.kind).toBe('postgres');
  });

  it('refuses a bad token and serves a good one', async () => {
    const bad = await fetch(h.mcpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${await h.token({ sub: h.users.alice, expiresIn: -60 })}`, 'content-type': 'application/json', accept: MCP_ACCEPT },
      body: JSON.stringify(initializeBody()),
    });
    expect(bad.status).toBe(401);
    expect((await call('list_projects')).isError).toBeFalsy();
  });

  it('full-text search through the GIN index expression, with pagination', async () => {
    const r = await call('search_tickets', { query: 'backup OR certificate' });
    expect(sc(r).tickets.map((t: { project: string }) => t.project)).toEqual(['OPS', 'OPS']);
    // The search expression is the index's expression: with sequential scans off, the planner uses it.
    const plan = await h.db.withConnection(async (conn) => {
      await conn.query('SET enable_seqscan = off');
      const rows = await conn.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT t."number" FROM "ticket" t WHERE to_tsvector('simple', t."title" || ' ' || t."body") @@ websearch_to_tsquery('simple', 'backup')`,
      );
      await conn.query('RESET enable_seqscan');
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('ticket_search_idx');
    const first = await call('search_tickets', { limit: 5 });
    const second = await call('search_tickets', { limit: 5, cursor: sc(first).next_cursor });
    const ids = [...sc(first).tickets, ...sc(second).tickets].map((t: { id: string }) => t.id);
    expect(new Set(ids).size).toBe(10);
  });

  it("another project's ticket is not found", async () => {
    const r = await call('get_ticket', { ticket_id: `T-${h.secretTicket}` });
    expect(r.isError).toBe(true);
    expect(JSON.stringify(r)).not.toContain('zebracorn');
  });

  it('concurrent retries with one idempotency key create exactly one ticket (unique-key race)', async () => {
    const before = await h.db.prisma.ticket.count();
    const args = { project: 'WEB', title: 'Postgres idempotency race', body: 'x', idempotency_key: `race-${crypto.randomUUID()}` };
    const results = await Promise.all(Array.from({ length: 5 }, () => call('create_ticket', args)));
    expect(results.every((r) => !r.isError)).toBe(true);
    expect(new Set(results.map((r) => sc(r).ticket.id)).size).toBe(1);
    expect(await h.db.prisma.ticket.count()).toBe(before + 1);
  });

  it('close_ticket with a confirmation token', async () => {
    const created = await call('create_ticket', { project: 'MOB', title: 'Close on postgres', body: 'x' });
    const id = sc(created).ticket.id;
    const first = await call('close_ticket', { ticket_id: id });
    expect(sc(first).outcome).toBe('confirmation_required');
    const done = await call('close_ticket', { ticket_id: id, confirm: true, confirmation_token: sc(first).confirmation_token });
    expect(sc(done).outcome).toBe('closed');
  });

  it('a revoked grant is refused with 401 and its session closed', async () => {
    const gid = await h.issuer.createGrant();
    const token = await h.token({ sub: h.users.bob, gid });
    const c = await h.connect(token);
    await h.issuer.revokeGrant(gid);
    const res = await fetch(h.mcpUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: MCP_ACCEPT, 'mcp-session-id': c.sessionId },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(401);
    await expect.poll(() => h.mcp.sessions.ids().includes(c.sessionId)).toBe(false);
  });
});
