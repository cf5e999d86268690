import pg from 'pg';
import { createPostgresDatabase as createDatabaseOn, type PostgresDatabase } from '@mcp-gw/testkit';

export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? process.env.E2E_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** Whether PostgreSQL answers; tests that need it skip without it, except in CI where they fail. */
export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    if (process.env.CI) throw new Error(`PostgreSQL is required in CI and is not reachable at ${POSTGRES_URL}`);
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A fresh database on the PostgreSQL server, dropped by the returned function. */
export function createPostgresDatabase(prefix = 'mcpgw_e2e'): Promise<PostgresDatabase> {
  return createDatabaseOn(POSTGRES_URL, prefix);
}
