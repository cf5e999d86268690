#!/usr/bin/env node
// The whole system in one process on the embedded database: this process owns the data folder (one
// process per folder), the authorization server and the MCP server share its connection, and other
// processes (pnpm admin) reach it through this one. Replicas run each app against PostgreSQL.
import path from 'node:path';
import { applyMigrations, connectDatabase, EmbeddedDatabaseBusy } from '@mcp-gw/db';
import { ConfigError, createLogger } from '@mcp-gw/shared';
import { closeRedis, connectRedis, loadAuthServerConfig, startAuthServer } from '@mcp-gw/auth-server';
import { addUserToDemoProjects, loadMcpConfig, seedDemoTickets, startMcpServer } from '@mcp-gw/mcp-server';
import { loadOrCreateDevSecrets } from './dev-secrets.js';
import { hearOtherProcesses } from './other-processes.js';

const env = process.env;
const dataDir = path.resolve(env.DATA_DIR ?? 'data');
const authPort = env.AUTH_PORT ?? '4000';
const mcpPort = env.MCP_PORT ?? '3000';
const issuer = env.ISSUER ?? `http://localhost:${authPort}`;
const resource = env.MCP_RESOURCE_URL ?? `http://localhost:${mcpPort}/mcp`;
const databaseUrl = env.DATABASE_URL ?? `pglite:${path.join(dataDir, 'pglite')}`;

async function main(): Promise<void> {
  const devSecrets = env.KEY_ENCRYPTION_KEY ? undefined : loadOrCreateDevSecrets(dataDir);
  const shared = { DATABASE_URL: databaseUrl, MCP_RESOURCE_URL: resource };
  const authConfig = loadAuthServerConfig({
    ...env,
    ...shared,
    PORT: authPort,
    ISSUER: issuer,
    KEY_ENCRYPTION_KEY: env.KEY_ENCRYPTION_KEY ?? devSecrets?.keyEncryptionKey,
  });
  const mcpConfig = loadMcpConfig({ ...env, ...shared, PORT: mcpPort, AUTH_ISSUER: issuer });
  const logger = createLogger('mcp-gateway', authConfig.LOG_LEVEL);

  const db = await connectDatabase(databaseUrl, { embedded: 'own', role: 'npm start' });
  const migrations = await applyMigrations(db);
  if (migrations.applied.length) logger.info({ applied: migrations.applied }, 'migrations applied');

  const redis = await connectRedis(authConfig.REDIS_URL, logger);
  const auth = await startAuthServer({ config: authConfig, db, logger: logger.child({ app: 'auth-server' }), redis });
  const demoEmail = env.DEMO_EMAIL ?? 'demo@example.com';
  const demoPassword = env.DEMO_PASSWORD ?? devSecrets?.demoPassword;
  const demo = await auth.accounts.ensureDemoUser(demoEmail, demoPassword);
  const users = await db.prisma.user.findMany({ select: { id: true }, orderBy: { createdAt: 'asc' } });
  await seedDemoTickets(db, { userIds: users.map((u) => u.id) });
  if (demo) await addUserToDemoProjects(db, demo.user.id, 'admin');

  const mcp = await startMcpServer({ config: mcpConfig, db, logger: logger.child({ app: 'mcp-server' }) });
  // Same process: revocations close the MCP server's live sessions at once, with or without Redis.
  auth.admin.publisher.onLocal(async (event) => {
    await mcp.mcp.revoke(event);
  });
  // On the embedded database every other process changes data through this one, which hears its
  // revocations and forgets remembered grants on its other writes: the feed is complete.
  if (db.kind === 'pglite') {
    await hearOtherProcesses(db, { revoke: (event) => mcp.mcp.revoke(event), forgetGrants: () => mcp.mcp.grants.forgetAll(), reloadKeys: () => auth.keyRing.reload() }, logger);
    mcp.mcp.addRevocationFeed();
  }
  const demoUser = await db.prisma.user.findUnique({ where: { email: demoEmail.toLowerCase() } });
  const passwordLine = demoUser
    ? demoPassword
      ? `${demoEmail} / ${demo?.generatedPassword ?? demoPassword}`
      : `${demoEmail} (password chosen at first start)`
    : 'none (add one with: pnpm admin users add you@example.com --admin)';

  console.log(`
  MCP ticketing gateway is running (embedded database in ${path.relative(process.cwd(), dataDir) || '.'})

    MCP server URL (add this in your client):  ${resource}
    Authorization server:                      ${issuer}
    Demo login:                                ${passwordLine}

  Stop with Ctrl+C.
`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1); // a second signal exits at once
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await mcp.close();
    await auth.close();
    await closeRedis();
    await db.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  console.error(err instanceof ConfigError || err instanceof EmbeddedDatabaseBusy ? err.message : err);
  process.exit(1);
});
