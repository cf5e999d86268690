import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database, SqlConnection } from './connect.js';

/** prisma/migrations at the repository root, next to the schema. */
export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../prisma/migrations');

// Prisma's own advisory lock id: replicas starting together, or `prisma migrate deploy` run beside us,
// serialise on it instead of applying the same migration twice.
const MIGRATION_LOCK_ID = 72707369;

export interface MigrationResult {
  applied: string[];
  alreadyApplied: number;
}

/**
 * Applies the committed migrations that are not yet applied, recording them in Prisma's
 * `_prisma_migrations` table with Prisma's checksum, so `prisma migrate status/deploy` agree with us.
 */
export async function applyMigrations(db: Database, dir = MIGRATIONS_DIR): Promise<MigrationResult> {
  const names = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return db.withConnection(async (conn) => {
    if (db.kind === 'postgres') await conn.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    try {
      return await applyPending(conn, dir, names);
    } finally {
      if (db.kind === 'postgres') await conn.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => {});
    }
  });
}

async function applyPending(db: SqlConnection, dir: string, names: string[]): Promise<MigrationResult> {
  {
    await db.execScript(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" VARCHAR(36) PRIMARY KEY NOT NULL,
      "checksum" VARCHAR(64) NOT NULL,
      "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL,
      "logs" TEXT,
      "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
      "applied_steps_count" INTEGER NOT NULL DEFAULT 0
    )`);
    const rows = await db.query<{ migration_name: string; checksum: string }>(
      'SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
    const done = new Map(rows.map((r) => [r.migration_name, r.checksum]));
    const applied: string[] = [];
    for (const name of names) {
      const sql = fs.readFileSync(path.join(dir, name, 'migration.sql'), 'utf8');
      const checksum = crypto.createHash('sha256').update(sql).digest('hex');
      const previous = done.get(name);
      if (previous !== undefined) {
        if (previous !== checksum) {
          throw new Error(`Migration ${name} was changed after it was applied (checksum differs). Add a new migration instead.`);
        }
        continue;
      }
      const id = crypto.randomUUID();
      await db.execScript(`BEGIN;\n${sql}\n;INSERT INTO "_prisma_migrations" (id, checksum, migration_name, finished_at, applied_steps_count) VALUES ('${id}', '${checksum}', '${name.replace(/'/g, "''")}', now(), 1);\nCOMMIT;`).catch(async (err) => {
        await db.execScript('ROLLBACK').catch(() => {});
        throw new Error(`Migration ${name} failed: ${(err as Error).message}`);
      });
      applied.push(name);
    }
    return { applied, alreadyApplied: done.size };
  }
}
