import crypto from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { applyMigrations } from './migrate.js';
import { connectDatabase } from './connect.js';

const server = process.env.TEST_DATABASE_URL;

describe.skipIf(!server)('PostgreSQL connection pool (TEST_DATABASE_URL)', () => {
  it('close() returns even while a connection is held by work that never ends', async () => {
    const name = `mcpgw_test_${crypto.randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: server });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    try {
      const url = new URL(server!);
      url.pathname = `/${name}`;
      const db = await connectDatabase(url.toString());
      await applyMigrations(db);
      // A transaction opened on a connection that is never given back (as Prisma leaves one it
      // abandons at disconnect).
      let holding!: () => void;
      const held = new Promise<void>((resolve) => (holding = resolve));
      void db.withConnection(async (conn) => {
        await conn.query('BEGIN');
        holding();
        await new Promise(() => {});
      });
      await held;
      await db.close(); // a hang here fails the test on its hang guard
      // Every connection of the pool is gone (the server ends a destroyed one's backend shortly after).
      const connections = async () => (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name])).rows[0]!.n;
      await expect.poll(connections, { timeout: 10_000 }).toBe(0);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});
