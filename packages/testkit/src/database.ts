import crypto from 'node:crypto';
import pg from 'pg';
import { applyMigrations, connectDatabase, type Database } from '@mcp-gw/db';

export interface TestDatabase {
  db: Database;
  url: string;
  kind: 'pglite' | 'postgres';
  /** Closes the connection and drops the database it created. */
  dispose(): Promise<void>;
}

/**
 * A fresh, migrated database for one test file: in-memory PGlite by default, or a new PostgreSQL
 * database on the server named by TEST_DATABASE_URL (created here, dropped by dispose()).
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const server = process.env.TEST_DATABASE_URL;
  if (!server) {
    const db = await connectDatabase('pglite:memory');
    await applyMigrations(db);
    return { db, url: 'pglite:memory', kind: 'pglite', dispose: () => db.close() };
  }
  const name = `mcpgw_test_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(server);
  url.pathname = `/${name}`;
  const db = await connectDatabase(url.toString());
  await applyMigrations(db);
  return {
    db,
    url: url.toString(),
    kind: 'postgres',
    async dispose() {
      await db.close();
      const cleanup = new pg.Client({ connectionString: server });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}
