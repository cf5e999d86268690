// The servers the benchmarks run against, started in the calling process from the built workspace.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { applyMigrations, connectDatabase } from '@mcp-gw/db';
import { createAuthApp, connectRedis, closeRedis } from '@mcp-gw/auth-server';
import { testAuthServerConfig } from '@mcp-gw/auth-server/testing';
import { buildConfig, startMcpServer, seedDemoTickets } from '@mcp-gw/mcp-server';
import { createLogger } from '@mcp-gw/shared';
import { createTestDatabase, freePort, obtainTokens } from '@mcp-gw/testkit';
import { PG_URL } from './common.mjs';

/** Limits that would otherwise throttle a load test (defaults are per-user per-minute). */
const NO_LIMITS_MCP = { RATE_LIMIT_READ_PER_MINUTE: '1000000000', RATE_LIMIT_WRITE_PER_MINUTE: '1000000000', MAX_SESSIONS: '100000' };
const NO_LIMITS_AUTH = { REGISTRATION_RATE_LIMIT: '1000000000' };

/**
 * A fresh migrated database: in-memory PGlite ('pglite', the helper the tests use), PGlite in a
 * temporary data directory ('pglite-disk', removed by dispose()), or a new database on the PostgreSQL
 * server ('postgres', dropped by dispose()).
 */
export async function openDatabase(kind) {
  if (kind === 'pglite-disk') {
    // The embedded database as `npm start` keeps it: in a data directory on disk.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpgw-bench-'));
    const url = `pglite:${dir}`;
    const db = await connectDatabase(url);
    await applyMigrations(db);
    return {
      db,
      kind,
      url,
      async dispose() {
        await db.close();
        fs.rmSync(dir, { recursive: true, force: true });
        fs.rmSync(`${dir}.owner`, { recursive: true, force: true });
      },
    };
  }
  const database = await createTestDatabase({ server: kind === 'postgres' ? PG_URL : undefined });
  return { db: database.db, kind, url: database.url, dispose: () => database.dispose() };
}

/**
 * The authorization server as startAuthServer runs it, behind a server-side timer: every request's
 * duration (request received → response finished) is passed to `onRequest` (method, path, ms).
 */
export async function startAuth(db, { mcpResourceUrl = 'http://127.0.0.1:3999/mcp', redisUrl, env = {}, onRequest } = {}) {
  const port = await freePort();
  const config = testAuthServerConfig(port, {
    MCP_RESOURCE_URL: mcpResourceUrl,
    LOG_LEVEL: 'silent',
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    ...NO_LIMITS_AUTH,
    ...env,
  });
  const logger = createLogger('auth-server', 'silent');
  const redis = redisUrl ? await connectRedis(redisUrl, logger) : undefined;
  const authApp = await createAuthApp({ config, db, logger, redis });
  const timer = { onRequest };
  const server = http.createServer((req, res) => {
    if (timer.onRequest) {
      const started = performance.now();
      const { method, url } = req;
      res.once('finish', () => timer.onRequest?.(method, url.split('?')[0], performance.now() - started));
    }
    authApp.app(req, res);
  });
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const password = 'bench-Secret-password-1';
  const email = 'bench@example.com';
  const user = await authApp.accounts.create({ email, password, name: 'bench', isAdmin: true });
  return {
    ...authApp,
    config,
    issuer: config.ISSUER,
    server,
    timer,
    user: { id: user.id, email, password },
    /** A real token the way clients get one: registration, consent over HTTP, code exchange. */
    obtainTokens: (resource = mcpResourceUrl) =>
      obtainTokens({ issuer: config.ISSUER, email, password, resource, scope: 'tickets:read tickets:write' }),
    async close() {
      await authApp.close();
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(() => resolve()));
      if (redis) await closeRedis();
    },
  };
}

/** The MCP server (startMcpServer) on a free port over `db`; authDisabledSub turns auth off. */
export async function startMcp(db, { issuer, port, authDisabledSub, env = {} }) {
  port ??= await freePort();
  const config = buildConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'silent',
    AUTH_ISSUER: issuer ?? 'http://127.0.0.1:1',
    MCP_RESOURCE_URL: `http://127.0.0.1:${port}/mcp`,
    ...(authDisabledSub ? { MCP_AUTH_DISABLED: 'true', MCP_AUTH_DISABLED_SUB: authDisabledSub } : {}),
    ...NO_LIMITS_MCP,
    ...env,
  });
  const started = await startMcpServer({ config, db, logger: createLogger('mcp-server', 'silent') });
  return { ...started, config, mcpUrl: `${started.url}/mcp`, resource: config.MCP_RESOURCE_URL };
}

/** The first seeded ticket's id (T-<n>), after seeding the demo data for `userId`. */
export async function seed(db, userId) {
  await seedDemoTickets(db, { userIds: [userId] });
  const ticket = await db.prisma.ticket.findFirst({ orderBy: { number: 'asc' }, select: { number: true } });
  return `T-${ticket.number}`;
}

export { NO_LIMITS_MCP, NO_LIMITS_AUTH };
