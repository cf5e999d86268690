#!/usr/bin/env node
import { applyMigrations, connectDatabase, type Database } from '@mcp-gw/db';
import { createLogger } from '@mcp-gw/shared';
import { loadMcpConfig } from './config.js';
import { startMcpServer, type StartedMcpServer } from './app.js';
import { seedDemoTickets } from './domain/seed.js';
import { startTelemetry } from './observability/tracing.js';

/** Standalone entry: configuration, database, migrations, telemetry, HTTP server, graceful shutdown. */
async function main(): Promise<void> {
  const config = loadMcpConfig();
  const logger = createLogger('mcp-server', config.LOG_LEVEL);

  let db: Database | undefined;
  let started: StartedMcpServer | undefined;
  let stopTelemetry: (() => Promise<void>) | undefined;
  // Assigned once below, but read by the signal handler defined first (a signal may come before).
  // eslint-disable-next-line prefer-const
  let starting: Promise<void> | undefined;
  let stopping = false;

  // Installed before anything opens: a signal during start-up waits for it (an embedded PGlite
  // interrupted while creating its data folder would leave it unusable), then closes in order.
  //
  // Order: /ready answers 503 (the load balancer stops sending new work), standalone SSE streams close
  // (clients reconnect elsewhere; with REDIS_URL their sessions continue there), in-flight requests
  // finish (at most SHUTDOWN_TIMEOUT_MS), then sockets, Redis, database, telemetry, exit. A second
  // signal exits at once.
  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: draining');
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS + 10_000);
    force.unref();
    try {
      await starting?.catch(() => {});
      if (started) {
        const { drained } = await started.drain(config.SHUTDOWN_TIMEOUT_MS);
        if (drained) logger.info('drained: no request in flight');
        else logger.warn({ in_flight: started.mcp.inFlight }, 'drain timed out; closing the remaining requests');
      }
      await started?.close();
      await db?.close();
      await stopTelemetry?.();
    } catch (err) {
      logger.error({ err }, 'error during shutdown');
      process.exitCode = 1;
    }
    clearTimeout(force);
    // Nothing of ours is left open; do not wait for stray handles (keep-alive agents, exporters).
    process.exit();
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  starting = (async () => {
    stopTelemetry = await startTelemetry({ endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: config.OTEL_SERVICE_NAME, logger });
    db = await connectDatabase(config.DATABASE_URL);
    const migrations = await applyMigrations(db);
    if (migrations.applied.length) logger.info({ applied: migrations.applied }, 'migrations applied');
    if (config.SEED_DEMO_DATA) {
      const users = await db.prisma.user.findMany({ select: { id: true }, orderBy: { createdAt: 'asc' } });
      if (users.length) {
        const seeded = await seedDemoTickets(db, { userIds: users.map((u) => u.id) });
        if (seeded.created) logger.info({ tickets: seeded.tickets }, 'demo tickets seeded');
      } else logger.warn('SEED_DEMO_DATA is set but there are no users yet; nothing seeded');
    }
    if (stopping) return;
    started = await startMcpServer({ config, db, logger });
    logger.info({ url: started.url, resource: config.MCP_RESOURCE_URL, issuer: config.AUTH_ISSUER }, 'MCP server listening');
  })();
  await starting;
}

main().catch((err) => {
  // ConfigError messages name the bad variables; anything else is unexpected.
  console.error(err instanceof Error ? (err.name === 'ConfigError' ? err.message : err.stack) : err);
  process.exit(1);
});
