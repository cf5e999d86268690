import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyMigrations, MIGRATIONS_DIR } from './migrate.js';
import { connectDatabase, parseDatabaseUrl, type Database } from './connect.js';

const open: Database[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((db) => db.close()));
});

async function embedded(dir?: string): Promise<Database> {
  const db = await connectDatabase(dir ? `pglite:${dir}` : 'pglite:memory');
  open.push(db);
  return db;
}

describe('migrations', () => {
  it('applies the committed migrations once; a second start changes nothing', async () => {
    // Two real starts of the migration command over one embedded data folder.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpgw-db-'));
    const cli = path.resolve(import.meta.dirname, '../dist/cli/migrate.js');
    const run = () => execFileSync(process.execPath, [cli], { env: { ...process.env, DATABASE_URL: `pglite:${dir}` }, encoding: 'utf8' });
    const committed = fs.readdirSync(MIGRATIONS_DIR).filter((f) => fs.statSync(path.join(MIGRATIONS_DIR, f)).isDirectory());
    expect(run()).toContain(`applied ${committed.length} migration(s)`);
    expect(run()).toContain(`database is up to date (${committed.length} migration(s) applied before)`);
    const db = await embedded(dir);
    // Recorded the way Prisma records them, so `prisma migrate status` agrees.
    const rows = await db.query<{ migration_name: string; checksum: string; finished_at: Date | null }>('SELECT migration_name, checksum, finished_at FROM "_prisma_migrations"');
    expect(rows.map((r) => r.migration_name).sort()).toEqual(committed.sort());
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.checksum) && r.finished_at)).toBe(true);
    expect(await applyMigrations(db)).toEqual({ applied: [], alreadyApplied: committed.length });
  });

  it('refuses to run when an applied migration was edited afterwards', async () => {
    const db = await embedded();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpgw-mig-'));
    fs.mkdirSync(path.join(dir, '0001_first'));
    fs.writeFileSync(path.join(dir, '0001_first', 'migration.sql'), 'CREATE TABLE t1 (id int);');
    await applyMigrations(db, dir);
    fs.writeFileSync(path.join(dir, '0001_first', 'migration.sql'), 'CREATE TABLE t1 (id bigint);');
    await expect(applyMigrations(db, dir)).rejects.toThrow(/0001_first was changed after it was applied/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('rolls a failing migration back entirely and names it', async () => {
    const db = await embedded();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcpgw-mig-'));
    fs.mkdirSync(path.join(dir, '0001_broken'));
    fs.writeFileSync(path.join(dir, '0001_broken', 'migration.sql'), 'CREATE TABLE half (id int);\nSELECT * FROM no_such_table;');
    await expect(applyMigrations(db, dir)).rejects.toThrow(/Migration 0001_broken failed/);
    const tables = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'half'");
    expect(tables[0]!.n).toBe(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('DATABASE_URL', () => {
  it('accepts PostgreSQL and PGlite forms and names what is wrong otherwise', () => {
    expect(parseDatabaseUrl('postgresql://u@h:5432/db')).toEqual({ kind: 'postgres', target: 'postgresql://u@h:5432/db' });
    expect(parseDatabaseUrl('pglite:./data/pglite')).toEqual({ kind: 'pglite', target: './data/pglite' });
    expect(parseDatabaseUrl('pglite:memory')).toEqual({ kind: 'pglite', target: 'memory' });
    expect(() => parseDatabaseUrl('mysql://x')).toThrow(/DATABASE_URL must start with/);
  });
});
