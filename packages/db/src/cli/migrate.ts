#!/usr/bin/env node
// `pnpm db:migrate`: applies committed migrations to DATABASE_URL (a deployment's migration job).
import { connectDatabase } from '../connect.js';
import { applyMigrations } from '../migrate.js';

const url = process.env.DATABASE_URL ?? 'pglite:./data/pglite';
const db = await connectDatabase(url, { poolSize: 1 });
try {
  const result = await applyMigrations(db);
  console.log(
    result.applied.length
      ? `applied ${result.applied.length} migration(s): ${result.applied.join(', ')}`
      : `database is up to date (${result.alreadyApplied} migration(s) applied before)`,
  );
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 1;
} finally {
  await db.close();
}
