#!/usr/bin/env node
import { applyMigrations, connectDatabase } from '@mcp-gw/db';
import { ConfigError, createLogger } from '@mcp-gw/shared';
import { startAuthServer } from './app.js';
import { loadAuthServerConfig } from './config.js';
import { closeRedis, connectRedis } from './redis.js';

// Standalone entry: one authorization server process (a replica, when DATABASE_URL is PostgreSQL).
let config;
try {
  config = loadAuthServerConfig();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(2);
}
const logger = createLogger('auth-server', config.LOG_LEVEL);
const db = await connectDatabase(config.DATABASE_URL);
await applyMigrations(db);
const redis = await connectRedis(config.REDIS_URL, logger);
const running = await startAuthServer({ config, db, logger, redis });
const demo = await running.accounts.ensureDemoUser(config.DEMO_EMAIL, config.DEMO_PASSWORD);
if (demo) {
  logger.info({ email: demo.user.email }, 'demo user created');
  if (demo.generatedPassword) console.log(`Demo login: ${demo.user.email} / ${demo.generatedPassword} (shown once)`);
}
logger.info({ issuer: config.ISSUER, listening: running.url }, 'authorization server started');

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) process.exit(1); // a second signal: exit at once
  stopping = true;
  logger.info({ signal }, 'shutting down');
  await running.close();
  await closeRedis();
  await db.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
