import crypto from 'node:crypto';
import { connectDatabase } from '@mcp-gw/db';

/**
 * A throw-away database `mcp_test_<random>` on the PostgreSQL server of `baseUrl` (created through its
 * `postgres` database, so other packages' tests sharing the `test` database are not disturbed).
 */
export async function createTestDatabase(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = new URL(baseUrl);
  adminUrl.pathname = '/postgres';
  const admin = await connectDatabase(adminUrl.toString(), { poolSize: 1 });
  const name = `mcp_test_${crypto.randomBytes(6).toString('hex')}`;
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } catch (err) {
    await admin.close();
    throw err;
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      try {
        await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await admin.close();
      }
    },
  };
}
