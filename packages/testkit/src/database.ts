import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { applyMigrations, connectDatabase, embeddedEngineVersion, MIGRATIONS_DIR, type Database } from '@mcp-gw/db';

export interface TestDatabase {
  db: Database;
  url: string;
  kind: 'pglite' | 'postgres';
  /** Closes the connection and drops the database it created. */
  dispose(): Promise<void>;
}

export interface PostgresDatabase {
  url: string;
  name: string;
  /** Drops it (FORCE: ends whatever is still connected). */
  drop(): Promise<void>;
}

/**
 * A new, empty database on the PostgreSQL server `server` names, created and dropped through that
 * URL's own database (`postgres` on CI machines), so tests never disturb each other's data.
 */
export async function createPostgresDatabase(server: string, prefix = 'mcpgw_test'): Promise<PostgresDatabase> {
  const name = `${prefix}_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const cleanup = new pg.Client({ connectionString: server });
      await cleanup.connect();
      try {
        await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await cleanup.end();
      }
    },
  };
}

/**
 * A fresh, migrated database for one test file (or benchmark): in-memory PGlite by default, or a new
 * PostgreSQL database on `server` (default: TEST_DATABASE_URL), dropped by dispose().
 */
export async function createTestDatabase(options: { server?: string } = {}): Promise<TestDatabase> {
  const server = 'server' in options ? options.server : process.env.TEST_DATABASE_URL;
  if (!server) {
    const db = await openEmbeddedDatabase();
    return { db, url: 'pglite:memory', kind: 'pglite', dispose: () => db.close() };
  }
  const created = await createPostgresDatabase(server);
  const db = await connectDatabase(created.url);
  await applyMigrations(db);
  return {
    db,
    url: created.url,
    kind: 'postgres',
    async dispose() {
      await db.close();
      await created.drop();
    },
  };
}

let snapshot: Promise<Blob> | undefined;

/**
 * A migrated in-memory embedded database, started from a migrated data directory kept in the system's
 * temporary folder (one per engine version and migration set): PGlite's initdb and the migrations run
 * once per machine instead of once per test file, which halves each start. The migrations are still
 * applied (nothing to do when the snapshot is current), so a stale snapshot can never hide one.
 */
export async function openEmbeddedDatabase(): Promise<Database> {
  snapshot ??= loadOrCreateSnapshot().catch((err) => {
    snapshot = undefined;
    throw err;
  });
  const db = await connectDatabase('pglite:memory', { initialData: await snapshot });
  await applyMigrations(db);
  return db;
}

function snapshotPath(): string {
  const hash = crypto.createHash('sha256').update(embeddedEngineVersion());
  for (const entry of fs.readdirSync(MIGRATIONS_DIR, { recursive: true, encoding: 'utf8' }).sort()) {
    const file = path.join(MIGRATIONS_DIR, entry);
    if (fs.statSync(file).isFile()) hash.update(entry).update(fs.readFileSync(file));
  }
  return path.join(os.tmpdir(), `mcpgw-pglite-${hash.digest('hex').slice(0, 16)}.tar.gz`);
}

async function loadOrCreateSnapshot(): Promise<Blob> {
  const file = snapshotPath();
  if (fs.existsSync(file)) return new Blob([fs.readFileSync(file)]);
  const db = await connectDatabase('pglite:memory');
  try {
    await applyMigrations(db);
    const blob = await db.dumpEmbedded!();
    // Written aside and renamed: processes racing to create it never read a partial file.
    const partial = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
    fs.writeFileSync(partial, Buffer.from(await blob.arrayBuffer()));
    fs.renameSync(partial, file);
    return blob;
  } finally {
    await db.close();
  }
}
