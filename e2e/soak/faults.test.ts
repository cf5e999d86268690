import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@mcp-gw/shared';
import { createTestDatabase, obtainTokens, type TestDatabase } from '@mcp-gw/testkit';
import { startTestAuthServer, type TestAuthServer } from '@mcp-gw/auth-server/testing';
import { loadMcpConfig, seedDemoTickets, startMcpServer, type StartedMcpServer } from '@mcp-gw/mcp-server';
import { createPostgresDatabase, postgresAvailable, POSTGRES_URL } from '../support/database.js';
import { RawMcpSession } from '../support/jsonrpc-client.js';
import { startSystem, type RunningSystem } from '../support/system.js';

describe('faults', () => {
  describe('PostgreSQL connections dropped mid-flow', () => {
    let available = false;
    let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
    let system: RunningSystem;

    beforeAll(async () => {
      available = await postgresAvailable();
      if (!available) return;
      database = await createPostgresDatabase('mcpgw_fault');
      system = await startSystem({ DATABASE_URL: database.url, RATE_LIMIT_WRITE_PER_MINUTE: '100000', RATE_LIMIT_READ_PER_MINUTE: '100000' });
    });
    afterAll(async () => {
      await system?.stop();
      await database?.drop();
    });

    it('fails cleanly while the database drops connections, and works again after', async (ctx) => {
      if (!available) return ctx.skip();
      const { tokens } = await obtainTokens({ issuer: system.issuer, email: system.demoEmail, password: system.demoPassword, resource: system.mcpUrl });
      const session = new RawMcpSession(system.mcpUrl, tokens.access_token);
      await session.initialize();
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      const killer = setInterval(() => {
        void admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database.name]).catch(() => {});
      }, 150);
      const answers: { status: number; body: string }[] = [];
      try {
        for (let i = 0; i < 40; i++) {
          const r = await session.callTool('create_ticket', { project: 'OPS', title: `fault ${i}`, body: 'written while connections drop', idempotency_key: `fault-key-${i}-xxxx` }).catch((err: Error) => ({ status: -1, result: undefined, error: { code: 0, message: err.message } }));
          answers.push({ status: r.status, body: JSON.stringify(r.result ?? r.error ?? '') });
          // OAuth requests during the fault: an RFC 6749 error or success, never a stack trace.
          const token = await fetch(`${system.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'nope', client_id: 'nope' }) });
          const text = await token.text();
          expect(text).not.toMatch(/at .*\.(js|ts):\d+/);
          expect(() => JSON.parse(text)).not.toThrow();
        }
      } finally {
        clearInterval(killer);
        await admin.end();
      }
      for (const a of answers) {
        expect(a.body).not.toMatch(/at .*\.(js|ts):\d+/); // no stack trace reaches a client
        expect([200, 503, -1]).toContain(a.status);
      }
      // After the fault: a full OAuth flow and tool calls succeed, and retried keys never doubled a ticket.
      const fresh = await obtainTokens({ issuer: system.issuer, email: system.demoEmail, password: system.demoPassword, resource: system.mcpUrl });
      const after = new RawMcpSession(system.mcpUrl, fresh.tokens.access_token);
      await after.initialize();
      const ok = await after.callTool('create_ticket', { project: 'OPS', title: 'after the fault', body: 'works again', idempotency_key: 'fault-after-0001' });
      expect(ok.status).toBe(200);
      expect(ok.result?.isError).toBeFalsy();
      const check = new pg.Client({ connectionString: database.url });
      await check.connect();
      const dup = await check.query(`SELECT title, count(*)::int AS n FROM ticket WHERE title LIKE 'fault %' GROUP BY title HAVING count(*) > 1`);
      const grants = await check.query(`SELECT count(*)::int AS n FROM oidc_artifact WHERE model = 'Grant' AND payload->>'accountId' IS NULL`);
      await check.end();
      expect(dup.rows).toEqual([]);
      expect(grants.rows[0].n).toBe(0); // no half-written grant
    });
  });

  describe('Redis down', () => {
    let system: RunningSystem;
    beforeAll(async () => {
      // Nothing listens on port 1: Redis is "down" for the whole run.
      system = await startSystem({ REDIS_URL: 'redis://127.0.0.1:1' });
    });
    afterAll(async () => system?.stop());

    it('keeps serving (rate limits fall back per process) and revocation still holds through the database', async () => {
      const { tokens, client } = await obtainTokens({ issuer: system.issuer, email: system.demoEmail, password: system.demoPassword, resource: system.mcpUrl });
      const session = new RawMcpSession(system.mcpUrl, tokens.access_token);
      await session.initialize();
      const r = await session.callTool('list_projects', {});
      expect(r.status).toBe(200);
      expect(r.result?.isError).toBeFalsy();
      // Revoke the token's refresh token (RFC 7009): the grant goes, and the MCP server refuses the access token.
      const revoked = await fetch(`${system.issuer}/token/revocation`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: tokens.refresh_token!, client_id: client.client_id }),
      });
      expect(revoked.status).toBe(200);
      const refused = await session.callTool('list_projects', {});
      expect(refused.status).toBe(401);
    });
  });

  describe('authorization server down', () => {
    let database: TestDatabase;
    let as: TestAuthServer;
    let mcp: StartedMcpServer;

    beforeAll(async () => {
      database = await createTestDatabase();
      as = await startTestAuthServer(database.db, { MCP_RESOURCE_URL: 'http://127.0.0.1:3998/mcp' });
      await seedDemoTickets(database.db, { userIds: [as.user.id] });
      const config = loadMcpConfig({ PORT: '3998', HOST: '127.0.0.1', AUTH_ISSUER: as.issuer, MCP_RESOURCE_URL: 'http://127.0.0.1:3998/mcp', LOG_LEVEL: 'silent' });
      mcp = await startMcpServer({ config, db: database.db, logger: createLogger('mcp', 'silent') });
    });
    afterAll(async () => {
      await mcp?.close();
      await as?.close().catch(() => {});
      await database?.dispose();
    });

    it('keeps validating tokens with the keys it already has', async () => {
      const { tokens } = await obtainTokens({ issuer: as.issuer, email: as.user.email, password: as.user.password, resource: 'http://127.0.0.1:3998/mcp' });
      const first = new RawMcpSession('http://127.0.0.1:3998/mcp', tokens.access_token);
      await first.initialize();
      expect((await first.callTool('list_projects', {})).status).toBe(200);
      await as.close(); // the authorization server is gone
      const second = new RawMcpSession('http://127.0.0.1:3998/mcp', tokens.access_token);
      await second.initialize();
      const r = await second.callTool('list_projects', {});
      expect(r.status).toBe(200);
      expect(r.result?.isError).toBeFalsy();
    });
  });
});
